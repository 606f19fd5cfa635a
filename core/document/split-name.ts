// Names of a shard's hash splits. A split is the unit that gets its own document, replicas and rollout,
// so every part of the system (API, metrics, dashboard, agent flags, Kubernetes labels) addresses it by
// one name: the shard's own name when it is not split, else `<shard>.s<i>`. Shard names cannot hold a
// "." (schemas/shards.schema.json), so a split name never collides with a shard name, and "." is safe
// in URLs, file paths, Prometheus label values and Kubernetes label values.
import type { CompiledShard, SplitUnit } from '../../schemas/model.ts';

export const DEFAULT_SPLIT_BY = '__address__';

/** Label promshard's own hashmod writes; team relabel rules may not touch `__tmp_promshard_*` (rule reserved-relabel-label). */
export const SPLIT_HASH_LABEL = '__tmp_promshard_hash';
/** The same hash under the previous layout, written only while a shard is being resharded. */
export const PREVIOUS_SPLIT_HASH_LABEL = '__tmp_promshard_hash_previous';
export const RESERVED_LABEL_PREFIX = '__tmp_promshard_';

export function splitName(shard: string, index: number, count: number): string {
  return unitName(shard, count <= 1 ? undefined : index);
}

/** The document name an agent serves, from its `--shard` and optional `--split`. */
export function unitName(shard: string, split: number | undefined): string {
  return split === undefined ? shard : `${shard}.s${split}`;
}

export function splitUnits(shard: CompiledShard): SplitUnit[] {
  const count = shard.split?.count ?? 1;
  const by = shard.split?.by ?? DEFAULT_SPLIT_BY;
  return Array.from({ length: count }, (_, index) => ({ name: splitName(shard.name, index, count), shard: shard.name, index, count, by }));
}

/** Reads a split index as given on a command line or in a pod label: a non-negative integer without sign or padding. */
export function parseSplitIndex(text: string): number | null {
  return /^(0|[1-9][0-9]{0,3})$/.test(text) ? Number(text) : null;
}
