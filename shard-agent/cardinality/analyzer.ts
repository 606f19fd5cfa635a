// The analysis cycle: job statistics → label pass → details of candidates → judgement → fixes → flags.
// Runs every `intervalMs` (default 60 s) and on demand; a cycle never runs twice at once (a second
// caller gets the cycle in flight). Each cycle has a time budget: no query starts after its deadline,
// and what was not measured keeps last cycle's flags (the report says `partial`).
import { Counter, Gauge, Histogram, Registry, type Metric } from '../../core/metrics/prom-client-lean.ts';
import type { JobOwner } from '../../core/document/desired-document.ts';
import type { CardinalityThresholds } from '../../schemas/model.ts';
import type { Logger } from '../../core/log/logger.ts';
import type { CardinalityFlag } from '../../core/protocol/cardinality-flag.ts';
import { BudgetExceeded, createQueryClient } from './prometheus-queries.ts';
import { collectHeadStats, collectJobStats, type HeadStats, type JobStats } from './job-stats.ts';
import { currentValues, labelDetail, measureLabel, metricSelector, seriesAfterFix, type LabelMeasurement } from './label-analysis.ts';
import { GrowthTracker } from './growth-tracker.ts';
import { barsFor, isCandidate, judge, lowestApplicableBar, MIN_DISTINCT_VALUES, resolveThresholds } from './thresholds.ts';
import { labelPrior, SKIPPED_LABELS } from './label-priors.ts';
import { selectLabels } from './label-selection.ts';
import { classifySample, classifyValue, STRONG_PATTERNS, truncateExample } from './value-classifier.ts';
import { flagId, ownerOf } from './flag.ts';
import type { RelabelConfig } from '../../schemas/model.ts';

// Loaded on first use, not at start-up: they bring the yaml and re2js packages (about 10 MB of an idle
// agent's RSS), and only a cycle that found a flag needs them (docs/agent.md, Memory).
const fixSuggestion = () => import('./fix-suggestion.ts');
const jobRelabelRules = () => import('../../core/relabel/job-relabel-rules.ts');

export const DEFAULT_INTERVAL_MS = 60_000;
export const DEFAULT_BUDGET_MS = 20_000;
export const DEFAULT_CONCURRENCY = 4;
/** Share of the budget the label pass may use; the rest is kept for details and fixes. */
export const LABEL_PASS_BUDGET_SHARE = 0.7;
/** At most this many (job, metric, label) candidates get a value sample per cycle. */
export const MAX_CANDIDATES = 64;
/** Label names are read for the last 5 minutes (Prometheus's lookback). */
export const LABEL_NAMES_WINDOW_S = 300;

export type CycleResult = 'ok' | 'partial' | 'error';

export interface CycleReport {
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  result: CycleResult;
  /** Why the cycle is partial or failed. */
  error?: string;
  budgetMs: number;
  budgetExhausted: boolean;
  queries: number;
  queryErrors: number;
  responseBytes: number;
  /** Response wait per kind of query (job-stats, tsdb, labels, label-values, label-pass, label-detail, fix-values, config, fix-estimate), ms. */
  queryMsByKind: Record<string, number>;
  head: HeadStats | null;
  jobs: (JobStats & { team: string; churning: boolean; overSeriesLimit: boolean })[];
  /** Label names seen in the last 5 minutes (structural ones excluded). */
  labelsTotal: number;
  /** Ruled out by their global distinct-value count (see label-selection.ts). */
  labelsSkipped: number;
  /** Scanned by the label pass. */
  labelsMeasured: number;
  measurements: number;
  candidates: number;
  candidatesDetailed: number;
  flags: number;
  newFlags: number;
}

export interface CardinalityAnalyzerOptions {
  prometheusUrl: string;
  shard: string;
  owners: () => Record<string, JobOwner>;
  registry?: Registry;
  log?: Logger;
  intervalMs?: number;
  budgetMs?: number;
  concurrency?: number;
  /** Per-query timeout (default 10 s, never beyond the budget). */
  queryTimeoutMs?: number;
  /** Delay before the first scheduled cycle after start() (default min(intervalMs, 10 s)). */
  initialDelayMs?: number;
}

export interface CardinalityAnalyzer {
  start(): void;
  stop(): void;
  /** Runs a cycle now (or joins the one in flight); `budgetMs` overrides the budget for this cycle. */
  runCycle(opts?: { budgetMs?: number }): Promise<CycleReport>;
  flags(): CardinalityFlag[];
  lastCycle(): CycleReport | null;
}

function metric<T extends Metric>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
    flag: metric(registry, 'promshard_agent_cardinality_flag', () => new Gauge({
      name: 'promshard_agent_cardinality_flag',
      help: 'Raised cardinality flags; the value is the label\'s distinct values.',
      labelNames: ['job', 'metric', 'label', 'reason', 'team'],
      registers,
    })),
    flags: metric(registry, 'promshard_agent_cardinality_flags', () => new Gauge({ name: 'promshard_agent_cardinality_flags', help: 'Number of cardinality flags raised.', registers })),
    duration: metric(registry, 'promshard_agent_cardinality_cycle_duration_seconds', () => new Histogram({
      name: 'promshard_agent_cardinality_cycle_duration_seconds',
      help: 'Wall time of cardinality analysis cycles.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
      registers,
    })),
    queries: metric(registry, 'promshard_agent_cardinality_queries_total', () => new Counter({ name: 'promshard_agent_cardinality_queries_total', help: 'HTTP queries sent to Prometheus by the cardinality analyzer.', registers })),
    queryErrors: metric(registry, 'promshard_agent_cardinality_query_errors_total', () => new Counter({ name: 'promshard_agent_cardinality_query_errors_total', help: 'Cardinality analyzer queries that failed or timed out.', registers })),
    cycles: metric(registry, 'promshard_agent_cardinality_cycles_total', () => new Counter({ name: 'promshard_agent_cardinality_cycles_total', help: 'Cardinality analysis cycles by result (ok, partial, error).', labelNames: ['result'], registers })),
    jobSeries: metric(registry, 'promshard_agent_job_series', () => new Gauge({ name: 'promshard_agent_job_series', help: 'Series kept per scrape by job (sum of scrape_samples_post_metric_relabeling).', labelNames: ['job'], registers })),
  };
}

export function createCardinalityAnalyzer(opts: CardinalityAnalyzerOptions): CardinalityAnalyzer {
  const registry = opts.registry ?? new Registry();
  const m = createMetrics(registry);
  for (const r of ['ok', 'partial', 'error']) m.cycles.inc({ result: r }, 0);
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const budgetMs = opts.budgetMs ?? DEFAULT_BUDGET_MS;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  const log = opts.log;
  const growth = new GrowthTracker();
  let current = new Map<string, CardinalityFlag>();
  let last: CycleReport | null = null;
  let inFlight: Promise<CycleReport> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  /** Labels that produced candidates last cycle: measured first next time. */
  let priorityLabels = new Set<string>();
  /** Global distinct-value counts per label from the previous cycle (rising → scan). */
  let previousGlobalCounts = new Map<string, number>();

  const thresholdsOf = (owners: Record<string, JobOwner>, job: string): Required<CardinalityThresholds> =>
    resolveThresholds(ownerOf(owners, job).owner?.cardinality);

  async function cycle(budgetMs: number): Promise<CycleReport> {
    const started = Date.now();
    const deadline = started + budgetMs;
    let queryErrors = 0;
    const onQuery = () => m.queries.inc();
    const passClient = createQueryClient({
      baseUrl: opts.prometheusUrl,
      concurrency,
      timeoutMs: opts.queryTimeoutMs,
      deadline: started + Math.round(budgetMs * LABEL_PASS_BUDGET_SHARE),
      onQuery,
    });
    const client = createQueryClient({ baseUrl: opts.prometheusUrl, concurrency, timeoutMs: opts.queryTimeoutMs, deadline, onQuery });
    const owners = opts.owners() ?? {};
    const problems: string[] = [];
    let budgetExhausted = false;
    const note = (err: unknown, what: string) => {
      if (err instanceof BudgetExceeded) budgetExhausted = true;
      else {
        queryErrors++;
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };

    // 1. job statistics, head stats, label names — in parallel.
    const nowS = Date.now() / 1000;
    const [jobStats, head, names] = await Promise.all([
      collectJobStats(client).catch((e) => (note(e, 'job stats'), null)),
      collectHeadStats(client).catch((e) => (note(e, 'tsdb status'), null)),
      passClient.labelNames([], nowS - LABEL_NAMES_WINDOW_S).catch((e) => (note(e, 'label names'), null)),
    ]);
    if (!jobStats && !names && !budgetExhausted) throw new Error(problems.join('; ') || 'Prometheus unreachable');

    const jobs: CycleReport['jobs'] = [];
    m.jobSeries.reset();
    for (const s of jobStats?.values() ?? []) {
      const t = thresholdsOf(owners, s.job);
      jobs.push({ ...s, team: ownerOf(owners, s.job).team, churning: s.churnRatio > t.max_churn_ratio, overSeriesLimit: s.series > t.max_series_per_job });
      m.jobSeries.set({ job: s.job }, s.series);
    }
    jobs.sort((a, b) => b.series - a.series);

    // 2. which labels to scan: global distinct counts (index only) rule most labels out.
    const allLabels = (names ?? []).filter((l) => !SKIPPED_LABELS.has(l) && !l.startsWith('__'));
    const jobThresholds = [resolveThresholds(), ...Object.values(owners).map((o) => resolveThresholds(o.cardinality))];
    const minBarCache = new Map<string, number>();
    const minBar = (l: string) => {
      let v = minBarCache.get(l);
      if (v === undefined) minBarCache.set(l, (v = Math.min(...jobThresholds.map((t) => barsFor(l, t).idBar))));
      return v;
    };
    // The tsdb top-10 counts are cached by Prometheus for ~30 s: good enough to say "big"; a small
    // count is re-read fresh so that growth is seen at once.
    const globalCounts = new Map<string, number>();
    for (const t of head?.topLabels ?? []) if (t.value > minBar(t.name)) globalCounts.set(t.name, t.value);
    // Outside the top 10, a label has at most as many values as the 10th: those responses are bounded.
    const unknown = allLabels.filter((l) => !globalCounts.has(l));
    await Promise.all(
      unknown.map((l) =>
        passClient.labelValues(l, nowS - LABEL_NAMES_WINDOW_S).then(
          (values) => globalCounts.set(l, values.length),
          (e) => note(e, `label values ${l}`),
        ),
      ),
    );
    const selection = selectLabels({ names: allLabels, globalCounts, previousCounts: previousGlobalCounts, priority: priorityLabels, minBar, floor: MIN_DISTINCT_VALUES });
    previousGlobalCounts = globalCounts;

    // 3. label pass: labels that mattered last cycle first, then id-like names, neutral, bounded.
    const rank = (l: string) => (priorityLabels.has(l) ? 0 : { 'id-like': 1, neutral: 2, bounded: 3 }[labelPrior(l)]);
    const labels = selection.scan.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
    const measured = new Set<string>();
    const measurements: LabelMeasurement[] = [];
    await Promise.all(
      labels.map((l) =>
        measureLabel(passClient, l, MIN_DISTINCT_VALUES).then(
          (rows) => {
            measured.add(l);
            measurements.push(...rows);
          },
          (e) => note(e, `label ${l}`),
        ),
      ),
    );

    // 4. growth bookkeeping and candidates.
    const seen = new Set<string>();
    type Cand = LabelMeasurement & { key: string; rising: number; t: Required<CardinalityThresholds>; bars: ReturnType<typeof barsFor> };
    const cands: Cand[] = [];
    for (const ms of measurements) {
      const t = thresholdsOf(owners, ms.job);
      if (t.enabled === false) continue;
      const key = flagId(opts.shard, ms.job, ms.metric, ms.label);
      seen.add(key);
      const g = growth.observe(key, ms.distinct);
      const bars = barsFor(ms.label, t);
      if (isCandidate(ms.distinct, g.rising, bars, t)) cands.push({ ...ms, key, rising: g.rising, t, bars });
    }
    if (names && measured.size === labels.length) growth.retain(seen);
    cands.sort((a, b) => b.distinct / b.bars.idBar - a.distinct / a.bars.idBar);
    const chosen = cands.slice(0, MAX_CANDIDATES);
    const nextPriority = new Set(chosen.map((c) => c.label));
    for (const ms of measurements) if ((growth.get(flagId(opts.shard, ms.job, ms.metric, ms.label))?.rising ?? 0) > 0) nextPriority.add(ms.label);

    // 5. details, judgement, fixes.
    const judged = new Set<string>();
    const next = new Map<string, CardinalityFlag>();
    // The jobs' current metric_relabel_configs, read once per cycle and only when a flag needs a fix.
    let loadedRules: Promise<Map<string, RelabelConfig[]> | null> | null = null;
    const rulesOf = async (job: string): Promise<RelabelConfig[] | null> => {
      loadedRules ??= Promise.all([client.loadedConfig(), jobRelabelRules()]).then(([text, m]) => m.metricRelabelRulesByJob(text), (e) => (note(e, 'loaded configuration'), null));
      const byJob = await loadedRules;
      return byJob ? (byJob.get(job) ?? []) : null;
    };
    const nowIso = new Date().toISOString();
    let detailed = 0;
    await Promise.all(
      chosen.map(async (c) => {
        try {
          const d = await labelDetail(client, c);
          detailed++;
          judged.add(c.key);
          const sample = classifySample(d.sample);
          const j = judge({ distinct: c.distinct, metricSeries: d.metricSeries, seriesAffected: d.seriesAffected, rising: c.rising, sample, bars: c.bars, thresholds: c.t });
          if (!j) return;
          const own = ownerOf(owners, c.job);
          // The fix is computed from every current value, not the sample, and checked on them.
          let values = d.sample;
          try {
            values = await currentValues(client, c);
          } catch (e) {
            note(e, `fix values ${c.key}`);
          }
          const { planFix, buildFix } = await fixSuggestion();
          const plan = await planFix({ label: c.label, selector: metricSelector(c.job, c.metric), values, existing: await rulesOf(c.job) });
          let after = d.metricSeries;
          try {
            after = await seriesAfterFix(client, plan.afterQuery);
          } catch (e) {
            note(e, `fix estimate ${c.key}`);
          }
          // Would what is left still be flagged? Judged like the label itself, with no growth streak.
          const residualSample = classifySample(spread(plan.residual, 500));
          const residual = { distinct: plan.residual.length, metricSeries: after, sample: residualSample, bars: c.bars, thresholds: c.t };
          const complete = plan.kind === 'labeldrop' || !judge({ ...residual, seriesAffected: after, rising: 0 });
          if (!complete) plan.residual.sort((a, b) => idLooking(b) - idLooking(a));
          const prev = current.get(c.key);
          next.set(c.key, {
            id: c.key,
            shard: opts.shard,
            job: c.job,
            team: own.team,
            file: own.file,
            line: own.line,
            metric: c.metric,
            label: c.label,
            distinctValues: c.distinct,
            seriesAffected: d.seriesAffected,
            metricSeries: d.metricSeries,
            valueRatio: d.metricSeries ? Math.round((c.distinct / d.metricSeries) * 1000) / 1000 : 0,
            pattern: sample.pattern,
            patternShare: Math.round(sample.share * 1000) / 1000,
            sampleSize: sample.size,
            examples: d.sample.slice(0, 3).map((v) => truncateExample(v)),
            severity: j.severity,
            reason: j.reasons[0]!,
            reasons: j.reasons,
            risingCycles: c.rising,
            firstSeen: prev?.firstSeen ?? nowIso,
            lastSeen: nowIso,
            thresholds: c.t,
            fix: buildFix(plan, {
              job: c.job,
              metric: c.metric,
              label: c.label,
              file: own.file,
              line: own.line,
              seriesBefore: d.metricSeries,
              seriesAfter: after,
              distinctValues: c.distinct,
              complete,
              residualBar: lowestApplicableBar(residual),
            }),
          });
        } catch (e) {
          note(e, `detail ${c.key}`);
        }
      }),
    );

    // 6. what this cycle could not look at keeps last cycle's verdict.
    const candidateKeys = new Set(cands.map((c) => c.key));
    for (const [key, f] of current) {
      if (next.has(key) || judged.has(key)) continue;
      if (thresholdsOf(owners, f.job).enabled === false) continue;
      // Carry over when its label was not measured, or it is still a candidate that got no detail.
      if (!measured.has(f.label) || candidateKeys.has(key)) next.set(key, f);
    }
    for (const f of next.values()) nextPriority.add(f.label);
    priorityLabels = nextPriority;
    const newFlags = [...next.keys()].filter((k) => !current.has(k)).length;
    current = next;

    m.flag.reset();
    for (const f of current.values()) m.flag.set({ job: f.job, metric: f.metric, label: f.label, reason: f.reason, team: f.team }, f.distinctValues);
    m.flags.set(current.size);

    const partial = budgetExhausted || queryErrors > 0 || measured.size < labels.length || detailed < chosen.length;
    const finished = Date.now();
    return {
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - started,
      result: partial ? 'partial' : 'ok',
      ...(partial ? { error: budgetExhausted ? `time budget of ${budgetMs} ms exhausted${problems.length ? '; ' + problems.slice(0, 3).join('; ') : ''}` : problems.slice(0, 5).join('; ') } : {}),
      budgetMs,
      budgetExhausted,
      queries: passClient.count + client.count,
      queryErrors,
      responseBytes: passClient.bytes + client.bytes,
      queryMsByKind: mergeTimings(passClient.msByKind, client.msByKind),
      head,
      jobs,
      labelsTotal: allLabels.length,
      labelsSkipped: selection.skipped.length,
      labelsMeasured: measured.size,
      measurements: measurements.length,
      candidates: cands.length,
      candidatesDetailed: detailed,
      flags: current.size,
      newFlags,
    };
  }

  async function runCycle(cycleOpts: { budgetMs?: number } = {}): Promise<CycleReport> {
    if (inFlight) return inFlight;
    const budget = cycleOpts.budgetMs ?? budgetMs;
    const started = Date.now();
    inFlight = (async () => {
      let report: CycleReport;
      try {
        report = await cycle(budget);
      } catch (err) {
        const finished = Date.now();
        report = {
          startedAt: new Date(started).toISOString(),
          finishedAt: new Date(finished).toISOString(),
          durationMs: finished - started,
          result: 'error',
          error: (err as Error).message,
          budgetMs: budget,
          budgetExhausted: false,
          queries: 0,
          queryErrors: 1,
          responseBytes: 0,
          queryMsByKind: {},
          head: null,
          jobs: [],
          labelsTotal: 0,
          labelsSkipped: 0,
          labelsMeasured: 0,
          measurements: 0,
          candidates: 0,
          candidatesDetailed: 0,
          flags: current.size,
          newFlags: 0,
        };
      }
      m.duration.observe(report.durationMs / 1000);
      m.cycles.inc({ result: report.result });
      m.queryErrors.inc(report.queryErrors);
      const fields = { result: report.result, durationMs: report.durationMs, queries: report.queries, flags: report.flags, newFlags: report.newFlags, error: report.error };
      if (report.result === 'error') log?.warn('cardinality cycle failed', fields);
      else log?.info('cardinality cycle', fields);
      last = report;
      return report;
    })();
    try {
      return await inFlight;
    } finally {
      inFlight = null;
    }
  }

  const schedule = (delay: number) => {
    if (!running) return;
    timer = setTimeout(async () => {
      timer = null;
      // An async timer's rejection would be unhandled (fatal on Node 20): keep cycling whatever happens.
      try {
        await runCycle();
      } catch {
        /* runCycle reports its own failures in the cycle report */
      } finally {
        schedule(intervalMs);
      }
    }, delay);
    timer.unref();
  };

  return {
    start() {
      if (running) return;
      running = true;
      schedule(opts.initialDelayMs ?? Math.min(intervalMs, 10_000));
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    runCycle,
    flags: () => [...current.values()].sort((a, b) => (a.severity !== b.severity ? (a.severity === 'critical' ? -1 : 1) : b.distinctValues - a.distinctValues)),
    lastCycle: () => last,
  };
}

/** At most `n` values spread evenly over `values`. */
function spread<T>(values: readonly T[], n: number): T[] {
  if (values.length <= n) return [...values];
  const step = values.length / n;
  return Array.from({ length: n }, (_, i) => values[Math.floor(i * step)]!);
}

function idLooking(v: string): number {
  const p = classifyValue(v);
  return p && STRONG_PATTERNS.has(p) ? 1 : 0;
}

function mergeTimings(...parts: Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = Math.round(((out[k] ?? 0) + v) * 10) / 10;
  return out;
}

/** Adapts an analyzer to the agent server's `flagSource` option. */
export function asFlagSource(analyzer: CardinalityAnalyzer): { flags(): CardinalityFlag[]; analyzeNow(): Promise<CardinalityFlag[]> } {
  return {
    flags: () => analyzer.flags(),
    analyzeNow: async () => {
      await analyzer.runCycle();
      return analyzer.flags();
    },
  };
}
