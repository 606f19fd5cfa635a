// Bounded HTTP queries against one Prometheus: every request has a client timeout (and a PromQL
// `timeout` parameter), at most `concurrency` run at once, every request is counted, and once the
// cycle's deadline has passed no new request starts (BudgetExceeded is thrown instead).
// node:http (core requestWithDeadline), not fetch, as everywhere in the agent (docs/agent.md, Memory).
import { requestWithDeadline } from '../../core/http/fetch-with-deadline.ts';

export class BudgetExceeded extends Error {
  constructor() {
    super('cardinality cycle time budget exhausted');
    this.name = 'BudgetExceeded';
  }
}

export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

export interface QueryClientOptions {
  baseUrl: string;
  concurrency?: number;
  /** Per-request timeout in ms (default 10 s, capped by the time left in the budget). */
  timeoutMs?: number;
  /** Absolute time (ms since epoch) after which no new request starts. */
  deadline?: number;
  /** Called once per request sent (successful or not). */
  onQuery?: (kind: string) => void;
}

export interface QueryClient {
  /** Instant query (POST /api/v1/query). */
  instant(promql: string, kind?: string): Promise<InstantSample[]>;
  labelNames(matchers?: string[], startSeconds?: number): Promise<string[]>;
  /** GET /api/v1/label/<name>/values (index only; no chunk is read). */
  labelValues(name: string, startSeconds?: number): Promise<string[]>;
  tsdbStatus(): Promise<TsdbStatus>;
  /** GET /api/v1/status/config: the YAML Prometheus is running (defaults filled in). */
  loadedConfig(): Promise<string>;
  readonly count: number;
  readonly errors: number;
  /** Milliseconds spent waiting for responses, summed per kind of query. */
  readonly msByKind: Readonly<Record<string, number>>;
  readonly bytes: number;
}

export interface TsdbStatus {
  headStats?: { numSeries: number; numLabelPairs?: number; chunkCount?: number; minTime?: number; maxTime?: number };
  seriesCountByMetricName?: { name: string; value: number }[];
  labelValueCountByLabelName?: { name: string; value: number }[];
}

/** A small FIFO semaphore. */
export function createLimiter(concurrency: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async function run<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= concurrency) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Quotes a string for PromQL (double-quoted, Go escapes). */
export function promqlString(s: string): string {
  return JSON.stringify(s);
}

/** Escapes a literal for use inside a PromQL/RE2 regex. */
export function regexLiteral(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

export function createQueryClient(opts: QueryClientOptions): QueryClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const limit = createLimiter(Math.max(1, opts.concurrency ?? 4));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let count = 0;
  let errors = 0;
  let bytes = 0;
  const msByKind: Record<string, number> = {};

  const request = (kind: string, path: string, form?: URLSearchParams) =>
    limit(async () => {
      const left = opts.deadline === undefined ? timeoutMs : opts.deadline - Date.now();
      if (left <= 0) throw new BudgetExceeded();
      const ms = Math.max(50, Math.min(timeoutMs, left));
      count++;
      opts.onQuery?.(kind);
      const t0 = performance.now();
      try {
        if (form && path === '/api/v1/query') form.set('timeout', `${Math.max(1, Math.floor(ms / 1000))}s`);
        const res = await requestWithDeadline(
          base + path,
          form ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' }, body: form.toString() } : { method: 'GET' },
          ms,
        );
        const text = res.body.toString('utf8');
        bytes += text.length;
        let body: { status?: string; data?: unknown; error?: string };
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error(`${path}: HTTP ${res.status}: ${text.slice(0, 200)}`);
        }
        if (!res.ok || body.status !== 'success') throw new Error(`${path}: HTTP ${res.status}: ${body.error ?? text.slice(0, 200)}`);
        return body.data;
      } catch (err) {
        errors++;
        throw err;
      } finally {
        msByKind[kind] = Math.round(((msByKind[kind] ?? 0) + performance.now() - t0) * 10) / 10;
      }
    });

  return {
    async instant(promql, kind = 'query') {
      const data = (await request(kind, '/api/v1/query', new URLSearchParams({ query: promql }))) as {
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[] | [number, string];
      };
      if (data.resultType === 'scalar') {
        const v = data.result as [number, string];
        return [{ metric: {}, value: Number(v[1]) }];
      }
      if (data.resultType !== 'vector') throw new Error(`unexpected result type ${data.resultType} for ${promql}`);
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
        metric: r.metric,
        value: Number(r.value[1]),
      }));
    },
    async labelNames(matchers = [], startSeconds) {
      const form = new URLSearchParams();
      for (const m of matchers) form.append('match[]', m);
      if (startSeconds !== undefined) {
        form.set('start', String(startSeconds));
        form.set('end', String(Date.now() / 1000));
      }
      return (await request('labels', '/api/v1/labels', form)) as string[];
    },
    async labelValues(name, startSeconds) {
      const params = new URLSearchParams();
      if (startSeconds !== undefined) {
        params.set('start', String(startSeconds));
        params.set('end', String(Date.now() / 1000));
      }
      return (await request('label-values', `/api/v1/label/${encodeURIComponent(name)}/values?${params}`)) as string[];
    },
    async tsdbStatus() {
      return (await request('tsdb', '/api/v1/status/tsdb')) as TsdbStatus;
    },
    async loadedConfig() {
      return ((await request('config', '/api/v1/status/config')) as { yaml: string }).yaml;
    },
    get count() {
      return count;
    },
    get errors() {
      return errors;
    },
    get bytes() {
      return bytes;
    },
    get msByKind() {
      return msByKind;
    },
  };
}
