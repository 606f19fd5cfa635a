// The few Prometheus HTTP calls the agent needs. "Unreachable" (nothing answers) is kept apart from
// "answered with an error", because the first means "write and verify later" and the second means
// "Prometheus refused: roll back".
//
// node:http (core requestWithDeadline) rather than fetch: loading undici costs the agent about 12 MB
// of RSS for the process's life (docs/agent.md, Memory), and these calls need none of it.
import { StringDecoder } from 'node:string_decoder';
import { requestWithDeadline, type BufferedAnswer, type DeadlineRequestInit } from '../core/http/fetch-with-deadline.ts';

export class PrometheusUnreachable extends Error {}

/** How much of /metrics is read at most while looking for the reload gauges. */
const METRICS_MAX_BYTES = 32 << 20;

export interface ReloadGauges {
  /** prometheus_config_last_reload_successful (0 or 1). */
  successful: number;
  /** prometheus_config_last_reload_success_timestamp_seconds. */
  successTimestamp: number;
  /** process_start_time_seconds when /metrics has it (it sorts before the gauges): which Prometheus process answered. */
  processStartTime?: number;
}

/** One of `/api/v1/targets?state=active`'s activeTargets, its fields as yet unchecked. */
export interface PrometheusActiveTarget {
  scrapePool?: unknown;
  discoveredLabels?: Record<string, unknown>;
  health?: unknown;
  lastError?: unknown;
  lastScrape?: unknown;
}

export class PrometheusClient {
  constructor(readonly baseUrl: string, private readonly timeoutMs = 5000) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async request(path: string, init: Partial<DeadlineRequestInit> = {}, timeoutMs = this.timeoutMs, maxBytes?: number): Promise<BufferedAnswer> {
    try {
      return await requestWithDeadline(this.baseUrl + path, { method: 'GET', ...init }, timeoutMs, undefined, maxBytes);
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new PrometheusUnreachable(`Prometheus at ${this.baseUrl} unreachable: ${e.code ?? e.message}`);
    }
  }

  /**
   * A JSON answer, decoded chunk by chunk: Prometheus's configuration and targets run to megabytes at
   * 1,000 jobs, and a second copy in one large Buffer is memory the allocator tends to keep after a
   * burst of applies (docs/agent.md, Memory).
   */
  private async requestJson(path: string): Promise<{ status: number; ok: boolean; json(): unknown }> {
    const decoder = new StringDecoder('utf8');
    let text = '';
    const res = await this.request(path, { headers: { 'accept-encoding': 'identity' }, consume: (chunk) => void (text += decoder.write(chunk)) });
    text += decoder.end();
    return { status: res.status, ok: res.ok, json: () => JSON.parse(text) as unknown };
  }

  async ready(): Promise<boolean> {
    try {
      const res = await this.request('/-/ready', {}, Math.min(this.timeoutMs, 2000));
      return res.ok;
    } catch {
      return false;
    }
  }

  /** POST /-/reload: Prometheus answers only after the reload finished, 500 with its error text on failure. */
  async reload(timeoutMs: number): Promise<{ ok: true } | { ok: false; error: string }> {
    const res = await this.request('/-/reload', { method: 'POST', body: '' }, timeoutMs);
    const text = res.body.toString('utf8').trim();
    if (res.ok) return { ok: true };
    if (res.status === 403) return { ok: false, error: `Prometheus refused /-/reload (403): start it with --web.enable-lifecycle or use --reload signal` };
    return { ok: false, error: text || `HTTP ${res.status}` };
  }

  async reloadGauges(): Promise<ReloadGauges> {
    // Prometheus's /metrics grows with the number of scrape pools (1.5 MB at 1,000 jobs) and has no
    // filter. Families come sorted by name, so the two prometheus_config_* gauges arrive early: stop
    // reading once both are in. identity encoding spares Prometheus the gzip work on loopback.
    const decoder = new TextDecoder();
    let text = '';
    let successful: number | undefined;
    let successTimestamp: number | undefined;
    let processStartTime: number | undefined;
    // Only complete lines are searched; the unsearched tail (perhaps half a line) is kept for the next chunk.
    const search = (complete: string) => {
      successful ??= gaugeValue(complete, 'prometheus_config_last_reload_successful');
      successTimestamp ??= gaugeValue(complete, 'prometheus_config_last_reload_success_timestamp_seconds');
      processStartTime ??= gaugeValue(complete, 'process_start_time_seconds');
      return successful !== undefined && successTimestamp !== undefined;
    };
    const consume = (chunk: Buffer) => {
      // Only the new piece is searched for a line break: searching the whole tail for each chunk was
      // quadratic on a long line.
      const piece = decoder.decode(chunk, { stream: true });
      const end = piece.lastIndexOf('\n') + 1;
      if (end === 0) {
        text += piece;
        return false;
      }
      const complete = text + piece.slice(0, end);
      text = piece.slice(end);
      return search(complete);
    };
    // Bounded: the unsearched tail grows without limit on an answer that never breaks a line (not a
    // Prometheus: a wrong --prometheus-url); the gauges come within Prometheus's first few kilobytes.
    const res = await this.request('/metrics', { headers: { 'accept-encoding': 'identity' }, consume }, this.timeoutMs, METRICS_MAX_BYTES);
    if (!res.ok) throw new PrometheusUnreachable(`Prometheus /metrics answered ${res.status}`);
    search(text + decoder.decode());
    if (successful === undefined || successTimestamp === undefined) throw new Error('Prometheus /metrics lacks prometheus_config_last_reload_* gauges');
    return { successful, successTimestamp, ...(processStartTime !== undefined ? { processStartTime } : {}) };
  }

  /** The --config.file flag, as Prometheus was started (`/api/v1/status/flags`). */
  async configFileFlag(): Promise<string | undefined> {
    const res = await this.requestJson('/api/v1/status/flags');
    if (!res.ok) throw new PrometheusUnreachable(`Prometheus /api/v1/status/flags answered ${res.status}`);
    const body = res.json() as { data?: Record<string, unknown> };
    const flag = body.data?.['config.file'];
    return typeof flag === 'string' ? flag : undefined;
  }

  /** `/api/v1/targets?state=active` as Prometheus answers it (read by target-health.ts). */
  async activeTargets(): Promise<PrometheusActiveTarget[]> {
    const res = await this.requestJson('/api/v1/targets?state=active');
    if (!res.ok) throw new PrometheusUnreachable(`Prometheus /api/v1/targets answered ${res.status}`);
    const body = res.json() as { data?: { activeTargets?: unknown } };
    return Array.isArray(body.data?.activeTargets) ? body.data.activeTargets : [];
  }

  /** The configuration Prometheus has loaded, as Prometheus re-serialised it. */
  async loadedConfigYaml(): Promise<string> {
    const res = await this.requestJson('/api/v1/status/config');
    if (!res.ok) throw new PrometheusUnreachable(`Prometheus /api/v1/status/config answered ${res.status}`);
    const body = res.json() as { data?: { yaml?: string } };
    if (typeof body.data?.yaml !== 'string') throw new Error('Prometheus /api/v1/status/config returned no yaml');
    return body.data.yaml;
  }
}

function gaugeValue(exposition: string, name: string): number | undefined {
  // Unlabelled gauges: `name value` at the start of a line.
  const m = new RegExp(`^${name}(?:\\{\\})? (\\S+)$`, 'm').exec(exposition);
  return m ? Number(m[1]) : undefined;
}
