// `plan`'s placement estimate for hash splits: which static targets each split keeps (promshard's
// own hashmod, core/placement/hashmod.ts, checked against Prometheus), how many series that brings
// when the controller's live figures are given, splits over the shard's budget or skewed above the
// mean, and the smallest split count that keeps every split under budget (--suggest-split).
import type { CompiledShard } from '../../schemas/model.ts';
import { splitName } from '../../core/document/split-name.ts';
import { splitOfTarget } from '../../core/placement/hashmod.ts';

/** Live series of one job as GET /v1/series gives them (the job's shard may be one of its splits). */
export interface LiveJobSeries {
  shard: string;
  job: string;
  series: number;
  targets: number;
}

export interface SplitEstimate {
  split: string;
  targets: number;
  /** Estimated series; null without live figures. */
  series: number | null;
  /** Load above the mean of the shard's splits, in percent (series when known, else targets). */
  skewPercent: number;
  warnings: string[];
}

export interface ShardSplitEstimate {
  shard: string;
  count: number;
  by: string;
  /** What the series estimate rests on, for the reader. */
  basis: string;
  splits: SplitEstimate[];
  /** Smallest count keeping every split under budget (--suggest-split); null when 64 splits are not enough. */
  suggestion?: { count: number; skewPercent: number; maxTargets: number; maxSeries: number | null } | null;
}

export const MAX_SPLIT = 64;

/**
 * Series per target of each job: the controller gives series and targets per job (per split when
 * split), not per target, so a job's per-target figure is its series over its targets, summed over
 * the splits that scrape it.
 */
export function seriesPerTarget(live: readonly LiveJobSeries[]): Map<string, number> {
  const sums = new Map<string, { series: number; targets: number }>();
  for (const j of live) {
    const s = sums.get(j.job) ?? { series: 0, targets: 0 };
    s.series += j.series;
    s.targets += j.targets;
    sums.set(j.job, s);
  }
  const out = new Map<string, number>();
  for (const [job, s] of sums) if (s.targets > 0) out.set(job, s.series / s.targets);
  return out;
}

interface Loads {
  targets: number[];
  series: number[] | null;
}

function loadsFor(shard: CompiledShard, count: number, by: string, perTarget: Map<string, number> | null): Loads {
  const targets = new Array<number>(count).fill(0);
  const series = perTarget ? new Array<number>(count).fill(0) : null;
  // A job with no live figure (new, or not scraped yet) weighs the shard's average per target.
  const known = perTarget ? shard.jobs.filter((j) => perTarget.has(j.name)) : [];
  const knownTargets = known.reduce((n, j) => n + j.targets.length, 0);
  const fallback = perTarget && knownTargets > 0 ? known.reduce((n, j) => n + perTarget.get(j.name)! * j.targets.length, 0) / knownTargets : 0;
  for (const job of shard.jobs) {
    const weight = perTarget?.get(job.name) ?? fallback;
    for (const t of job.targets) {
      const i = splitOfTarget(job, t, by, count);
      targets[i]! += 1;
      if (series) series[i]! += weight;
    }
  }
  return { targets, series };
}

const skews = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.map((x) => (mean > 0 ? ((x - mean) / mean) * 100 : 0));
};

function fits(shard: CompiledShard, l: Loads): boolean {
  return l.targets.every((t) => t <= shard.budget.max_targets) && (!l.series || l.series.every((s) => s <= shard.budget.max_series));
}

export function estimateSplits(
  shard: CompiledShard,
  opts: { live?: readonly LiveJobSeries[] | null; skewLimitPercent?: number; suggest?: boolean } = {},
): ShardSplitEstimate {
  const count = shard.split?.count ?? 1;
  const by = shard.split?.by ?? '__address__';
  const perTarget = opts.live ? seriesPerTarget(opts.live) : null;
  const limit = opts.skewLimitPercent ?? 25;
  const l = loadsFor(shard, count, by, perTarget);
  const sk = skews(l.series ?? l.targets);
  const splits = l.targets.map((targets, i): SplitEstimate => {
    const series = l.series ? Math.round(l.series[i]!) : null;
    const warnings: string[] = [];
    if (targets > shard.budget.max_targets) warnings.push(`${targets} targets, over max_targets ${shard.budget.max_targets}`);
    if (series !== null && series > shard.budget.max_series) warnings.push(`about ${series} series, over max_series ${shard.budget.max_series}`);
    if (count > 1 && sk[i]! > limit) warnings.push(`${Math.round(sk[i]!)}% above the mean of the shard's splits (limit ${limit}%)`);
    return { split: splitName(shard.name, i, count), targets, series, skewPercent: Math.round(sk[i]! * 10) / 10, warnings };
  });
  const basis = perTarget
    ? "series: each job's live series over its live targets (the controller gives series per job, not per target) times the job's targets in the split"
    : 'targets only (no --controller: series unknown)';
  const out: ShardSplitEstimate = { shard: shard.name, count, by, basis, splits };
  if (opts.suggest) {
    out.suggestion = null;
    for (let n = 1; n <= MAX_SPLIT; n++) {
      const ln = loadsFor(shard, n, by, perTarget);
      if (!fits(shard, ln)) continue;
      out.suggestion = {
        count: n,
        skewPercent: Math.round(Math.max(...skews(ln.series ?? ln.targets)) * 10) / 10,
        maxTargets: Math.max(...ln.targets),
        maxSeries: ln.series ? Math.round(Math.max(...ln.series)) : null,
      };
      break;
    }
  }
  return out;
}

export function formatSplitEstimates(estimates: readonly ShardSplitEstimate[]): string[] {
  const out: string[] = [];
  for (const e of estimates) {
    out.push('', `splits of shard ${e.shard}: ${e.count} by ${e.by} (estimate from ${e.basis})`);
    if (e.count > 1 || e.splits.some((s) => s.warnings.length)) {
      for (const s of e.splits) {
        out.push(`  ${s.split}: ${s.targets} targets${s.series !== null ? `, about ${s.series} series` : ''}, ${s.skewPercent >= 0 ? '+' : ''}${s.skewPercent}% vs mean`);
        for (const w of s.warnings) out.push(`    warning: ${w}`);
      }
    }
    if (e.suggestion === null) out.push(`  suggestion: none: even ${MAX_SPLIT} splits leave a split over budget; raise the budget or move jobs to another shard`);
    else if (e.suggestion) {
      const s = e.suggestion;
      out.push(`  suggestion: split: ${s.count} (smallest that keeps every split under budget): largest split ${s.maxTargets} targets${s.maxSeries !== null ? `, about ${s.maxSeries} series` : ''}; predicted skew +${s.skewPercent}% above the mean`);
    }
  }
  return out;
}
