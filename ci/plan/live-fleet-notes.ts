// Live checks for `plan --controller`: touched jobs that carry cardinality flags, and the series that
// added targets will bring (live per-target average of the same job) against the shard's max_series.
import type { CompiledRepository } from '../../schemas/model.ts';
import type { Plan } from './compute-plan.ts';
import type { ControllerReader } from '../controller-reader.ts';
import type { LiveJobSeries } from './split-estimate.ts';

interface LiveFlag {
  shard: string;
  job: string;
  metric: string;
  label: string;
  distinctValues?: number;
  severity?: string;
}

export interface LiveNote {
  shard: string;
  severity: 'warning' | 'error';
  message: string;
}

export async function liveFleetNotes(controller: ControllerReader, plan: Plan, head: CompiledRepository | null): Promise<LiveNote[]> {
  const notes: LiveNote[] = [];
  let flags: LiveFlag[] = [];
  let series: LiveJobSeries[] = [];
  let shardSeries: Record<string, number> = {};
  try {
    flags = (await controller.get<{ flags: LiveFlag[] }>('/v1/flags')).flags ?? [];
    const usage = await controller.get<{ jobs: LiveJobSeries[]; shards: Record<string, number> }>('/v1/series');
    series = usage.jobs ?? [];
    shardSeries = usage.shards ?? {};
  } catch (err) {
    return [{ shard: '*', severity: 'warning', message: `could not ask the controller for live state: ${(err as Error).message}` }];
  }
  for (const s of plan.shards) {
    for (const j of s.jobs) {
      for (const f of flags.filter((f) => f.shard === s.shard && f.job === j.job)) {
        notes.push({ shard: s.shard, severity: 'warning', message: `job ${j.job} is flagged for cardinality: ${f.metric}{${f.label}} has ${f.distinctValues ?? '?'} values; see its fix on the dashboard` });
      }
    }
    const added = s.jobs.reduce((acc, j) => {
      const live = series.find((x) => x.shard === s.shard && x.job === j.job);
      if (!live || live.targets === 0 || j.targetsAdded.length === 0) return acc;
      return acc + Math.round((live.series / live.targets) * j.targetsAdded.length);
    }, 0);
    if (added > 0) {
      const now = shardSeries[s.shard] ?? 0;
      const after = now + added;
      const max = head?.shards.find((x) => x.name === s.shard)?.budget.max_series ?? s.maxSeries;
      notes.push({
        shard: s.shard,
        severity: after > max ? 'error' : 'warning',
        message: `added targets bring about ${added} series (live per-target average): ${now} → ${after} of max_series ${max}${after > max ? ' — over budget' : ''}`,
      });
    }
  }
  return notes;
}
