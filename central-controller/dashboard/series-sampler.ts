// Series per shard for "series against budget". The agents' cardinality analyzer exports
// `promshard_agent_job_series{job}` (series kept per scrape, by job) on each agent's /metrics, which
// needs no token. While someone looks at the dashboard, this samples every reachable agent at most
// every `intervalMs` and keeps, per shard, the largest per-replica sum (replicas of a shard scrape the
// same targets). Agents without an analyzer simply have no measurement ("—" on the page).
import type { ControllerState } from '../controller-state.ts';

export interface SeriesSample {
  series: number;
  jobs: Record<string, number>;
  at: number;
}

const LINE = /^promshard_agent_job_series\{([^}]*)\}\s+([0-9.eE+-]+|NaN)\s*$/;
const JOB = /(?:^|,)job="((?:[^"\\]|\\.)*)"/;

/** Parses the job series gauge out of an exposition body. */
export function parseJobSeries(body: string): Record<string, number> | null {
  let found = false;
  const jobs: Record<string, number> = {};
  for (const line of body.split('\n')) {
    if (!line.startsWith('promshard_agent_job_series')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const job = JOB.exec(m[1]!)?.[1]?.replace(/\\(.)/g, '$1');
    const v = Number(m[2]);
    if (job === undefined || !Number.isFinite(v)) continue;
    found = true;
    jobs[job] = (jobs[job] ?? 0) + v;
  }
  return found ? jobs : null;
}

export class SeriesSampler {
  private readonly byShard = new Map<string, SeriesSample>();
  private inFlight: Promise<void> | null = null;
  private lastRun = 0;

  constructor(
    private readonly state: ControllerState,
    private readonly intervalMs = 15_000,
    private readonly timeoutMs = 2000,
  ) {}

  get(shard: string): SeriesSample | null {
    return this.byShard.get(shard) ?? null;
  }

  /** Starts a sampling round when the last one is older than the interval; never waits for it. */
  touch(): void {
    if (this.inFlight || Date.now() - this.lastRun < this.intervalMs) return;
    this.lastRun = Date.now();
    this.inFlight = this.sample().finally(() => (this.inFlight = null));
  }

  /** Samples now and waits (tests). */
  async sampleNow(): Promise<void> {
    this.lastRun = Date.now();
    await (this.inFlight ??= this.sample().finally(() => (this.inFlight = null)));
  }

  private async sample(): Promise<void> {
    const agents = this.state.agents.all().filter((a) => a.reachable !== false);
    const perShard = new Map<string, SeriesSample>();
    await Promise.all(
      agents.map(async (a) => {
        try {
          const res = await fetch(`${a.url}/metrics`, { signal: AbortSignal.timeout(this.timeoutMs) });
          if (!res.ok) return void (await res.arrayBuffer().catch(() => undefined));
          const jobs = parseJobSeries(await res.text());
          if (!jobs) return;
          const series = Object.values(jobs).reduce((n, v) => n + v, 0);
          const prev = perShard.get(a.shard);
          if (!prev || series > prev.series) perShard.set(a.shard, { series, jobs, at: Date.now() });
        } catch {
          /* unreachable agents are the reconciler's business; no measurement here */
        }
      }),
    );
    for (const [shard, s] of perShard) this.byShard.set(shard, s);
  }
}

interface UsageLike {
  shard: string;
  measuredAt: string | null;
  jobs: { series: number }[];
}

/**
 * Series of a shard: the controller's own usage map (from the agents' GET /v1/usage, when the
 * controller gathers it) takes precedence; the sampler's reading of the agents' /metrics is the
 * fallback. The freshest replica measurement stands for the shard.
 */
export function seriesForShard(state: ControllerState, sampler: SeriesSampler, shard: string): SeriesSample | null {
  const usage = (state as unknown as { usage?: unknown }).usage;
  if (usage instanceof Map) {
    let best: UsageLike | null = null;
    for (const u of usage.values() as Iterable<UsageLike>) {
      if (u?.shard !== shard || !u.measuredAt || !Array.isArray(u.jobs)) continue;
      if (!best || best.measuredAt! < u.measuredAt) best = u;
    }
    if (best) {
      const jobs: Record<string, number> = {};
      for (const j of best.jobs as { job?: string; series: number }[]) if (j.job) jobs[j.job] = j.series;
      return { series: best.jobs.reduce((n, j) => n + (Number.isFinite(j.series) ? j.series : 0), 0), jobs, at: Date.parse(best.measuredAt!) };
    }
  }
  return sampler.get(shard);
}
