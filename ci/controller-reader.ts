// The CLI's read-only client for a running controller (`plan --controller`, `fix --controller`): GET
// with the read token, a deadline, and each path fetched at most once per command (plan's live notes
// and split estimates both need /v1/series).
export class ControllerReader {
  readonly base: string;
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(url: string, private readonly token: string | undefined, private readonly timeoutMs = 10_000) {
    this.base = url.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<T> {
    let p = this.cache.get(path);
    if (!p) {
      p = this.fetchJson(path);
      this.cache.set(path, p);
    }
    return p as Promise<T>;
  }

  private async fetchJson(path: string): Promise<unknown> {
    const res = await fetch(`${this.base}${path}`, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw new Error(`controller ${this.base}: GET ${path} answered HTTP ${res.status}${res.status === 401 ? ' (give its read token with --token-file)' : ''}`);
    return res.json();
  }
}
