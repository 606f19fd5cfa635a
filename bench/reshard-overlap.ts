// Resharding split 2 → 3 under a steady scrape (10 s interval by default), with real parts (test/support/reshard-scenario.ts:
// an in-process controller, one real agent + Prometheus 2.42 per split, real exporters, a real
// remote-write receiver). Measured with the overlap (the default) and, in the same run, without it
// (--reshard-overlap-max 0, the new layout in one rollout, which is what a plain hashmod reshard does):
// - the overlap window: from the commit to the handover;
// - its extra scrape load: scrapes the exporters served per second from the commit until every split
//   kept exactly its new share, against the same rate afterwards (steady, one split per target);
// - the longest time without a sample of any moved target at the receiver, and how many moved
//   targets went more than 1.5 scrape intervals without one.
import { fileURLToPath } from 'node:url';
import { longestGapMs, runReshardScenario, type ReshardScenarioResult } from '../test/support/reshard-scenario.ts';

const TARGETS = Number(process.env.RESHARD_BENCH_TARGETS ?? 30);
// Long enough that a moved target's first scrape in its new split (at its offset within the interval)
// can come after its old split dropped it, as with the 15–60 s intervals fleets run.
const INTERVAL_S = Number(process.env.RESHARD_BENCH_INTERVAL_S ?? 10);

function figuresOf(run: ReshardScenarioResult, prefix: string): Record<string, number | string> {
  const sum = (m: Map<string, number>, keys: readonly string[]) => keys.reduce((n, k) => n + (m.get(k) ?? 0), 0);
  const seconds = run.endedAt - run.changedAt;
  const duringRate = sum(run.scrapesDuring, run.targets) / seconds;
  const steadyRate = sum(run.scrapesAfter, run.targets) / run.steadySeconds;
  const gaps = run.moved.map((t) => longestGapMs(run.samples.get(t) ?? [], run.changedAt - 3 * INTERVAL_S, run.endedAt + 2 * INTERVAL_S));
  return {
    [`${prefix}_moved_targets`]: `${run.moved.length} of ${run.targets.length}`,
    [`${prefix}_change_to_settled_s`]: Number(seconds.toFixed(1)),
    ...(run.reshard ? { [`${prefix}_overlap_window_s`]: run.reshard.overlapSeconds } : {}),
    [`${prefix}_scrapes_per_s_during`]: Number(duringRate.toFixed(1)),
    [`${prefix}_scrapes_per_s_steady`]: Number(steadyRate.toFixed(1)),
    [`${prefix}_extra_scrape_load_pct`]: Math.round((duringRate / steadyRate - 1) * 100),
    [`${prefix}_extra_scrapes_total`]: Math.round(sum(run.scrapesDuring, run.targets) - steadyRate * seconds),
    [`${prefix}_moved_longest_gap_ms`]: Math.max(...gaps),
    [`${prefix}_moved_with_gap_over_1_5_intervals`]: gaps.filter((g) => g > 1500 * INTERVAL_S).length,
  };
}

export async function runReshardOverlapBench(): Promise<Record<string, number | string>> {
  const withOverlap = await runReshardScenario({ targets: TARGETS, from: 2, to: 3, boundMs: 10 * 60_000, intervalS: INTERVAL_S });
  const without = await runReshardScenario({ targets: TARGETS, from: 2, to: 3, boundMs: 0, intervalS: INTERVAL_S });
  return { scrape_interval_s: INTERVAL_S, ...figuresOf(withOverlap, 'overlap'), ...figuresOf(without, 'no_overlap') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await runReshardOverlapBench());
