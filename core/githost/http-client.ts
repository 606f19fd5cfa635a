// The HTTP side of talking to a git host's REST API (GitHub, GitHub Enterprise, GitLab): one deadline
// per request, rate-limit answers waited out a bounded number of times, server errors retried with
// backoff, and pagination by the `Link` header. Shared by the CI commands and the controller.
//
// The token goes into a header and nowhere else: errors name the method, the path and the host's
// own message, never a header, so that an error that reaches a log or a comment cannot leak it.
import { fetchWithDeadline } from '../http/fetch-with-deadline.ts';
import { backoffDelayMs, sleep } from '../time/backoff.ts';

export class GitHostError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when no answer came (deadline, connection refused). */
    readonly status: number,
    /** The host's own `message` field (or the body's start), for callers that act on it. */
    readonly hostMessage = '',
    /** The wait the host asked for when it refused for rate limiting. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface GitHostHttpOptions {
  /** API base as the host documents it: https://api.github.com, https://host/api/v3, https://host/api/v4. */
  apiBase: string;
  /** Headers that carry the credential (and any the host requires); never logged. */
  authHeaders: Record<string, string>;
  /** Deadline for one request, answer and body. Default 10 s. */
  timeoutMs?: number;
  /** Attempts per request, counting the first, over rate-limit and 5xx answers. Default 4. */
  maxAttempts?: number;
  /** Longest single wait for a rate limit; a host asking for more fails the call at once. Default 60 s. */
  maxWaitMs?: number;
  /** First backoff after a 5xx or a failed connection, doubled each time, with jitter (core/time/backoff.ts). Default 500 ms. */
  backoffMs?: number;
  /** Pages followed at most by `paginate`. Default 50 (5,000 items at 100 a page). */
  maxPages?: number;
  /** Cancels waits and requests (the controller's close). */
  signal?: AbortSignal;
  /** Called before each wait, for logs and metrics: never given the headers. */
  onRetry?: (info: { method: string; path: string; status: number; waitMs: number; attempt: number }) => void;
  /** Injected for tests; the real clock otherwise. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface GitHostResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

const MAX_BODY = 16 * 1024 * 1024;

/** The shared abortable sleep, but an abort fails the call instead of cutting the wait short. */
async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw new GitHostError('cancelled', 0);
  await sleep(ms, signal);
  if (signal?.aborted) throw new GitHostError('cancelled', 0);
}

/** The `rel="next"` URL of a `Link` header, exactly as given (GitHub may answer with /repositories/<id>/…). */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;(.*)$/.exec(part.trim());
    if (m && /\brel="?([^";]*\s)?next(\s[^";]*)?"?/.test(m[2])) return m[1];
  }
  return undefined;
}

/**
 * How long the host asks us to wait, or undefined when the answer is not a rate limit. GitHub: 429,
 * or 403 with `retry-after` or `x-ratelimit-remaining: 0` (reset in `x-ratelimit-reset`, epoch
 * seconds). GitLab: 429 with `Retry-After` (and `RateLimit-Reset`).
 */
export function rateLimitWaitMs(status: number, headers: Headers, now = Date.now()): number | undefined {
  if (status !== 429 && status !== 403) return undefined;
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const secs = Number(retryAfter);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
  const reset = headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset');
  if ((status === 429 || remaining === '0') && reset !== null && Number.isFinite(Number(reset))) return Math.max(0, Number(reset) * 1000 - now);
  // A 429 without a hint still means "slow down"; a 403 without one is a real refusal.
  return status === 429 ? 1000 : undefined;
}

function hostMessageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown; error?: unknown; errors?: unknown };
    const parts = [parsed.message, parsed.error].filter((x) => x !== undefined).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
    if (parsed.errors !== undefined) parts.push(JSON.stringify(parsed.errors));
    if (parts.length) return parts.join(': ').slice(0, 500);
  } catch {
    // not JSON: the body's start is the message
  }
  return text.slice(0, 200);
}

export class GitHostHttp {
  private readonly base: URL;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly opts: GitHostHttpOptions) {
    this.base = new URL(opts.apiBase.replace(/\/+$/, '') + '/');
    this.sleep = opts.sleep ?? defaultSleep;
  }

  get apiBase(): string {
    return this.base.href.replace(/\/$/, '');
  }

  /** The absolute URL of an API path ("repos/o/r/…" or "/repos/o/r/…"), kept under the base's path. */
  url(path: string): string {
    return new URL(path.replace(/^\/+/, ''), this.base).href;
  }

  /** Path shown in errors: the URL without its origin and without a query string. */
  private shown(url: string): string {
    return new URL(url).pathname;
  }

  async request<T = unknown>(method: string, pathOrUrl: string, body?: unknown): Promise<GitHostResponse<T>> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.url(pathOrUrl);
    // A pagination link (or anything else) pointing to another origin must not get the credential.
    if (new URL(url).origin !== this.base.origin) throw new GitHostError(`refusing to send the credential to ${new URL(url).origin} (API base is ${this.base.origin})`, 0);
    const maxAttempts = this.opts.maxAttempts ?? 4;
    const maxWait = this.opts.maxWaitMs ?? 60_000;
    const base = this.opts.backoffMs ?? 500;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'promshard', ...this.opts.authHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetchWithDeadline(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, this.opts.timeoutMs ?? 10_000, this.opts.signal, MAX_BODY);
      } catch (err) {
        if (this.opts.signal?.aborted) throw new GitHostError(`${method} ${this.shown(url)}: cancelled`, 0);
        const reason = (err as Error).message;
        if (attempt >= maxAttempts) throw new GitHostError(`${method} ${this.shown(url)}: ${reason}`, 0);
        const wait = backoffDelayMs(attempt - 1, base, maxWait);
        this.opts.onRetry?.({ method, path: this.shown(url), status: 0, waitMs: wait, attempt });
        await this.sleep(wait, this.opts.signal);
        continue;
      }
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) {
        let parsed: unknown = undefined;
        if (text.length) {
          try {
            parsed = JSON.parse(text);
          } catch {
            throw new GitHostError(`${method} ${this.shown(url)}: HTTP ${res.status} with a body that is not JSON`, res.status);
          }
        }
        return { status: res.status, body: parsed as T, headers: res.headers };
      }
      const hostMessage = hostMessageOf(text);
      const limitWait = rateLimitWaitMs(res.status, res.headers);
      const fail = (extra = '') => new GitHostError(`${method} ${this.shown(url)}: HTTP ${res.status}${hostMessage ? ` ${hostMessage}` : ''}${extra}`, res.status, hostMessage, limitWait);
      if (limitWait !== undefined) {
        if (limitWait > maxWait) throw fail(` (rate limited for ${Math.ceil(limitWait / 1000)} s, longer than the ${Math.ceil(maxWait / 1000)} s this call may wait)`);
        if (attempt >= maxAttempts) throw fail(` (still rate limited after ${attempt} attempts)`);
        this.opts.onRetry?.({ method, path: this.shown(url), status: res.status, waitMs: limitWait, attempt });
        await this.sleep(limitWait, this.opts.signal);
        continue;
      }
      if (res.status >= 500 && attempt < maxAttempts) {
        const wait = backoffDelayMs(attempt - 1, base, maxWait);
        this.opts.onRetry?.({ method, path: this.shown(url), status: res.status, waitMs: wait, attempt });
        await this.sleep(wait, this.opts.signal);
        continue;
      }
      throw fail();
    }
  }

  /** `GET path`, or undefined when the host answers 404 (a file that is not there). */
  async getIfFound<T>(path: string): Promise<GitHostResponse<T> | undefined> {
    try {
      return await this.request<T>('GET', path);
    } catch (err) {
      if (err instanceof GitHostError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** A name field of `GET user`, or undefined when the credential may not ask (a job token, a token without that scope). */
  async currentUser(field: 'login' | 'username'): Promise<string | undefined> {
    try {
      return (await this.request<Partial<Record<typeof field, string>>>('GET', 'user')).body[field];
    } catch (err) {
      if (err instanceof GitHostError && (err.status === 403 || err.status === 401 || err.status === 404)) return undefined;
      throw err;
    }
  }

  /**
   * Every item of a paginated list, following `rel="next"` as given. `stop` ends the walk early (the
   * item it matched is included), so finding one comment does not read every page.
   */
  async paginate<T>(path: string, stop?: (item: T) => boolean): Promise<T[]> {
    const items: T[] = [];
    let url: string | undefined = this.url(path);
    for (let page = 0; url; page++) {
      if (page >= (this.opts.maxPages ?? 50)) throw new GitHostError(`GET ${this.shown(this.url(path))}: more than ${page} pages`, 0);
      const res: GitHostResponse<T[]> = await this.request<T[]>('GET', url);
      if (!Array.isArray(res.body)) throw new GitHostError(`GET ${this.shown(url)}: expected a list`, res.status);
      for (const item of res.body) {
        items.push(item);
        if (stop?.(item)) return items;
      }
      url = nextLink(res.headers.get('link'));
    }
    return items;
  }
}
