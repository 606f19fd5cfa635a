// The few Prometheus HTTP calls the agent needs. "Unreachable" (nothing answers) is kept apart from
// "answered with an error", because the first means "write and verify later" and the second means
// "Prometheus refused: roll back".

export class PrometheusUnreachable extends Error {}

export interface ReloadGauges {
  /** prometheus_config_last_reload_successful (0 or 1). */
  successful: number;
  /** prometheus_config_last_reload_success_timestamp_seconds. */
  successTimestamp: number;
}

export class PrometheusClient {
  constructor(readonly baseUrl: string, private readonly timeoutMs = 5000) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async request(path: string, init: RequestInit = {}, timeoutMs = this.timeoutMs): Promise<Response> {
    try {
      return await fetch(this.baseUrl + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new PrometheusUnreachable(`Prometheus at ${this.baseUrl} unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
  }

  async ready(): Promise<boolean> {
    try {
      const res = await this.request('/-/ready', {}, Math.min(this.timeoutMs, 2000));
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  /** POST /-/reload: Prometheus answers only after the reload finished, 500 with its error text on failure. */
  async reload(timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
    const res = await this.request('/-/reload', { method: 'POST' }, timeoutMs);
    const text = (await res.text()).trim();
    if (res.ok) return { ok: true };
    if (res.status === 403) return { ok: false, error: `Prometheus refused /-/reload (403): start it with --web.enable-lifecycle or use --reload signal` };
    return { ok: false, error: text || `HTTP ${res.status}` };
  }

  async reloadGauges(): Promise<ReloadGauges> {
    const res = await this.request('/metrics');
    const text = await res.text();
    if (!res.ok) throw new PrometheusUnreachable(`Prometheus /metrics answered ${res.status}`);
    return {
      successful: gaugeValue(text, 'prometheus_config_last_reload_successful'),
      successTimestamp: gaugeValue(text, 'prometheus_config_last_reload_success_timestamp_seconds'),
    };
  }

  /** The configuration Prometheus has loaded, as Prometheus re-serialised it. */
  async loadedConfigYaml(): Promise<string> {
    const res = await this.request('/api/v1/status/config');
    if (!res.ok) throw new PrometheusUnreachable(`Prometheus /api/v1/status/config answered ${res.status}`);
    const body = (await res.json()) as { data?: { yaml?: string } };
    if (typeof body.data?.yaml !== 'string') throw new Error('Prometheus /api/v1/status/config returned no yaml');
    return body.data.yaml;
  }
}

function gaugeValue(exposition: string, name: string): number {
  // Unlabelled gauges: `name value` at the start of a line.
  const m = new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, 'm').exec(exposition);
  if (!m) throw new Error(`Prometheus /metrics has no ${name}`);
  return Number(m[1]);
}
