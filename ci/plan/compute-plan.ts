// What a change does to each shard: jobs added, removed and changed, targets added and removed, and
// the shard's target count against its budget. Only shards the change touches are listed.
import { layoutOf, sameLayout } from '../../core/placement/reshard-overlap.ts';
import type { CompiledJob, CompiledRepository, CompiledShard } from '../../schemas/model.ts';
import { renderShardFiles } from '../../core/render/shard-documents.ts';
import { hashFiles, sha256Hex } from '../../core/document/desired-document.ts';

export interface JobChange {
  job: string;
  team: string;
  file: string;
  change: 'added' | 'removed' | 'changed';
  targetsAdded: string[];
  targetsRemoved: string[];
  /** Which settings changed (interval, relabel_configs…), for `changed`. */
  fieldsChanged: string[];
}

export interface ShardPlan {
  shard: string;
  change: 'added' | 'removed' | 'changed';
  jobs: JobChange[];
  targetsBefore: number;
  targetsAfter: number;
  maxTargets: number;
  maxSeries: number;
  overBudget: boolean;
  hashBefore: string | null;
  hashAfter: string | null;
  replicas: number;
}

export interface Plan {
  shards: ShardPlan[];
  unchangedShards: number;
}

function targetCount(shard: CompiledShard | undefined): number {
  return shard ? shard.jobs.reduce((n, j) => n + j.targets.length, 0) : 0;
}

/**
 * Everything the rendered configuration of a shard is a function of. Equal fingerprints mean equal
 * renders, so plan renders only the shards whose fingerprint moved (one shard for a one-file change,
 * rather than all 200 twice).
 */
function shardFingerprint(shard: CompiledShard | undefined): string | null {
  if (!shard) return null;
  return JSON.stringify([
    shard.name, shard.replicas, shard.budget, shard.externalLabels, shard.evaluationInterval, shard.interval, shard.timeout,
    shard.jobs.map((j) => [j.name, j.team, j.source.file, j.spec, j.targets.map((t) => [t.address, t.labels])]),
  ]);
}

function shardHash(shard: CompiledShard | undefined): string | null {
  if (!shard) return null;
  return hashFiles(renderShardFiles(shard).map((f) => ({ path: f.path, sha256: sha256Hex(f.content) })));
}

function comparableSpec(job: CompiledJob): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(job.spec)) if (k !== 'targets' && k !== 'target_groups') out[k] = JSON.stringify(v);
  out.targets = JSON.stringify(job.targets.map((t) => [t.address, t.labels]));
  out.team = job.team;
  return out;
}

function diffJob(before: CompiledJob | undefined, after: CompiledJob | undefined): JobChange | null {
  const ref = (after ?? before)!;
  const addrBefore = new Set(before?.targets.map((t) => t.address) ?? []);
  const addrAfter = new Set(after?.targets.map((t) => t.address) ?? []);
  const targetsAdded = [...addrAfter].filter((a) => !addrBefore.has(a));
  const targetsRemoved = [...addrBefore].filter((a) => !addrAfter.has(a));
  if (!before || !after) {
    return { job: ref.name, team: ref.team, file: ref.source.file, change: before ? 'removed' : 'added', targetsAdded, targetsRemoved, fieldsChanged: [] };
  }
  const a = comparableSpec(before);
  const b = comparableSpec(after);
  const fieldsChanged = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k] && k !== 'targets').sort();
  if (fieldsChanged.length === 0 && targetsAdded.length === 0 && targetsRemoved.length === 0 && a.targets === b.targets) return null;
  if (fieldsChanged.length === 0 && a.targets !== b.targets && targetsAdded.length === 0 && targetsRemoved.length === 0) fieldsChanged.push('target labels');
  return { job: ref.name, team: ref.team, file: after.source.file, change: 'changed', targetsAdded, targetsRemoved, fieldsChanged };
}

/**
 * `changedFiles`, when known, lets plan skip every shard that holds no job from a changed file
 * (unless shards.yaml itself changed): such a shard's inputs are byte-identical on both sides.
 */
export function computePlan(base: CompiledRepository | null, head: CompiledRepository | null, changedFiles?: ReadonlySet<string>): Plan {
  const fleetChanged = !changedFiles || changedFiles.has('shards.yaml') || changedFiles.has('shards.yml');
  const touches = (shard: CompiledShard | undefined) => !!shard && shard.jobs.some((j) => changedFiles!.has(j.source.file));
  const beforeShards = new Map((base?.shards ?? []).map((s) => [s.name, s]));
  const afterShards = new Map((head?.shards ?? []).map((s) => [s.name, s]));
  const names = [...new Set([...beforeShards.keys(), ...afterShards.keys()])].sort();
  const shards: ShardPlan[] = [];
  let unchangedShards = 0;
  for (const name of names) {
    const before = beforeShards.get(name);
    const after = afterShards.get(name);
    if (before && after && !fleetChanged && !touches(before) && !touches(after)) {
      unchangedShards++;
      continue;
    }
    // A new split layout changes every split's document even when no job changed (reshard-notes.ts says how).
    const sameSplits = !!before && !!after && sameLayout(layoutOf(before), layoutOf(after));
    if (before && after && sameSplits && shardFingerprint(before) === shardFingerprint(after)) {
      unchangedShards++;
      continue;
    }
    const hashBefore = shardHash(before);
    const hashAfter = shardHash(after);
    if (hashBefore === hashAfter && sameSplits && before?.budget.max_targets === after?.budget.max_targets) {
      unchangedShards++;
      continue;
    }
    const jobsBefore = new Map((before?.jobs ?? []).map((j) => [j.name, j]));
    const jobsAfter = new Map((after?.jobs ?? []).map((j) => [j.name, j]));
    const jobs: JobChange[] = [];
    for (const job of [...new Set([...jobsBefore.keys(), ...jobsAfter.keys()])].sort()) {
      const c = diffJob(jobsBefore.get(job), jobsAfter.get(job));
      if (c) jobs.push(c);
    }
    const ref = (after ?? before)!;
    const targetsAfter = targetCount(after);
    // A split shard runs one Prometheus per split, each sized by the budget (per-split shares: split-estimate.ts).
    const maxTargets = ref.budget.max_targets * layoutOf(ref).count;
    shards.push({
      shard: name,
      change: !before ? 'added' : !after ? 'removed' : 'changed',
      jobs,
      targetsBefore: targetCount(before),
      targetsAfter,
      maxTargets,
      maxSeries: ref.budget.max_series,
      // `ref` is `after` whenever there is one.
      overBudget: !!after && targetsAfter > maxTargets,
      hashBefore,
      hashAfter,
      replicas: ref.replicas,
    });
  }
  return { shards, unchangedShards };
}
