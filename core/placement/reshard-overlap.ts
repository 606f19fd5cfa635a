// Resharding without gaps: the rollout units of a shard whose split layout (`split`, `split_by`) is
// changing, while the old and the new layout overlap. Each unit keeps every target it keeps under
// either layout, so a target that moves is scraped by its old split and its new one at once; the
// controller (central-controller/resharding/) ends the overlap once every moved target was scraped by
// its new split. Units of the old layout only (the unsplit shard of a 1 → N change, the last splits of
// a shrink) keep their old share, then are retired with a document that scrapes nothing.
import type { CompiledJob, CompiledShard, SplitUnit } from '../../schemas/model.ts';
import { DEFAULT_SPLIT_BY, splitUnits } from '../document/split-name.ts';
import { splitOfTarget } from './hashmod.ts';
import { splitShardModel } from './split-model.ts';

export interface SplitLayout {
  count: number;
  by: string;
}

export function layoutOf(shard: CompiledShard): SplitLayout {
  return { count: shard.split?.count ?? 1, by: shard.split?.by ?? DEFAULT_SPLIT_BY };
}

/** An unsplit shard is one unit whatever `split_by` says. */
export function sameLayout(a: SplitLayout, b: SplitLayout): boolean {
  return a.count === b.count && (a.count <= 1 || a.by === b.by);
}

export function describeLayout(l: SplitLayout): string {
  return l.count <= 1 ? 'unsplit' : `split ${l.count} by ${l.by}`;
}

/** `old`: under the previous layout only; `new`: under the new one only; `both`: the same name in both. */
export type OverlapRole = 'old' | 'new' | 'both';

export interface OverlapUnit {
  role: OverlapRole;
  /** What to render: `previous` is set on `both` units, so that they keep both shares. */
  split: SplitUnit;
  /** The unit's model, with the static targets it keeps during the overlap. */
  model: CompiledShard;
}

export interface MovedTarget {
  job: string;
  address: string;
  /** The unit that scraped it under the previous layout, and the one that takes it over. */
  from: string;
  to: string;
}

function withLayout(shard: CompiledShard, layout: SplitLayout): CompiledShard {
  return { ...shard, split: layout.count > 1 ? { count: layout.count, by: layout.by } : undefined };
}

function unitOf(job: CompiledJob, target: CompiledShard['jobs'][number]['targets'][number], shard: string, units: SplitUnit[], layout: SplitLayout): string {
  return units[splitOfTarget(job, target, layout.by, layout.count)]?.name ?? shard;
}

/** The units of `shard` (compiled under its new layout) while it overlaps with layout `from`. */
export function overlapUnits(shard: CompiledShard, from: SplitLayout): OverlapUnit[] {
  const to = layoutOf(shard);
  const oldUnits = splitUnits(withLayout(shard, from));
  const newUnits = splitUnits(withLayout(shard, to));
  const oldByName = new Map(oldUnits.map((u) => [u.name, u]));
  const newNames = new Set(newUnits.map((u) => u.name));
  const out: OverlapUnit[] = [];
  for (const u of newUnits) {
    const before = oldByName.get(u.name);
    if (!before) {
      out.push({ role: 'new', split: u, model: splitShardModel(shard, u) });
      continue;
    }
    const split: SplitUnit = { ...u, previous: { index: before.index, count: before.count, by: before.by } };
    const keeps = (job: CompiledJob, t: CompiledShard['jobs'][number]['targets'][number]) =>
      splitOfTarget(job, t, to.by, to.count) === u.index || splitOfTarget(job, t, from.by, from.count) === before.index;
    out.push({ role: 'both', split, model: { ...shard, name: u.name, jobs: shard.jobs.map((job) => ({ ...job, targets: job.targets.filter((t) => keeps(job, t)) })) } });
  }
  for (const u of oldUnits) {
    if (newNames.has(u.name)) continue;
    out.push({ role: 'old', split: u, model: splitShardModel(withLayout(shard, from), u) });
  }
  return out;
}

/** Static targets whose unit differs between the two layouts. Discovered targets are known only to Prometheus. */
export function movedTargets(shard: CompiledShard, from: SplitLayout): MovedTarget[] {
  const to = layoutOf(shard);
  const oldUnits = splitUnits(withLayout(shard, from));
  const newUnits = splitUnits(withLayout(shard, to));
  const out: MovedTarget[] = [];
  for (const job of shard.jobs) {
    for (const t of job.targets) {
      const a = unitOf(job, t, shard.name, oldUnits, from);
      const b = unitOf(job, t, shard.name, newUnits, to);
      if (a !== b) out.push({ job: job.name, address: t.address, from: a, to: b });
    }
  }
  return out;
}
