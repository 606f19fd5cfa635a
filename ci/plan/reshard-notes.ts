// What a pull request that changes a shard's split layout (`split`, `split_by`) will do when it
// merges: which static targets move, which splits are new (their Prometheus replicas must run before
// the merge, or the overlap waits for them), and which are retired after the overlap. The controller
// keeps every moved target on its old split until its new split has scraped it (docs/operations.md).
import type { CompiledRepository } from '../../schemas/model.ts';
import { describeLayout, layoutOf, movedTargets, overlapUnits, sameLayout } from '../../core/placement/reshard-overlap.ts';

export interface ReshardNote {
  shard: string;
  from: string;
  to: string;
  movedTargets: number;
  staticTargets: number;
  /** Splits of the new layout that did not exist: each needs `replicas` Prometheus + agent pairs. */
  newSplits: string[];
  replicas: number;
  /** Splits of the old layout only: they get a document that scrapes nothing once the overlap is over. */
  retiredSplits: string[];
}

export function reshardNotes(base: CompiledRepository | null, head: CompiledRepository | null): ReshardNote[] {
  if (!base || !head) return [];
  const notes: ReshardNote[] = [];
  for (const shard of head.shards) {
    const before = base.shards.find((s) => s.name === shard.name);
    if (!before || sameLayout(layoutOf(before), layoutOf(shard))) continue;
    const from = layoutOf(before);
    const units = overlapUnits(shard, from);
    notes.push({
      shard: shard.name,
      from: describeLayout(from),
      to: describeLayout(layoutOf(shard)),
      movedTargets: movedTargets(shard, from).length,
      staticTargets: shard.jobs.reduce((n, j) => n + j.targets.length, 0),
      newSplits: units.filter((u) => u.role === 'new').map((u) => u.split.name),
      replicas: shard.replicas,
      retiredSplits: units.filter((u) => u.role === 'old').map((u) => u.split.name),
    });
  }
  return notes;
}

export function formatReshardNotes(notes: readonly ReshardNote[]): string[] {
  const out: string[] = [];
  for (const n of notes) {
    out.push('', `resharding ${n.shard}: ${n.from} → ${n.to}`);
    out.push(`  ${n.movedTargets} of ${n.staticTargets} static targets move; each stays on its old split until its new split has scraped it (at most the controller's --reshard-overlap-max, default 10m)`);
    if (n.newSplits.length) out.push(`  start ${n.replicas} Prometheus + agent replica(s) for each new split before merging: ${n.newSplits.join(', ')}`);
    if (n.retiredSplits.length) out.push(`  retired after the overlap (they then scrape nothing; remove them): ${n.retiredSplits.join(', ')}`);
  }
  return out;
}
