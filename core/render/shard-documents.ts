// Turns a compiled repository into one desired document per shard: what the controller rolls out and
// what `promshard render` writes to disk.
import { buildDesiredDocument, MAIN_CONFIG_FILE, type DesiredDocument, type JobOwner } from '../document/desired-document.ts';
import type { CompiledRepository, CompiledShard, SplitUnit } from '../../schemas/model.ts';
import { splitUnits } from '../document/split-name.ts';
import { renderPrometheusConfig } from './render-prometheus-config.ts';
import type { CompileCache } from '../compiler/compile-cache.ts';
import { overlapUnits, type OverlapUnit, type SplitLayout } from '../placement/reshard-overlap.ts';

export function ownersOf(shard: CompiledShard): Record<string, JobOwner> {
  const owners: Record<string, JobOwner> = {};
  for (const job of shard.jobs) owners[job.name] = { team: job.team, file: job.source.file, line: job.source.line, cardinality: job.cardinality };
  return owners;
}

export function renderShardFiles(shard: CompiledShard, split?: SplitUnit): { path: string; content: string }[] {
  return [{ path: MAIN_CONFIG_FILE, content: renderPrometheusConfig(shard, split) }];
}

function splitInfo(split: SplitUnit): Pick<DesiredDocument, 'split'> {
  return split.count > 1 ? { split: { shard: split.shard, index: split.index, count: split.count, by: split.by } } : {};
}

/**
 * The documents of one shard while it is resharded from layout `from` to the layout it is compiled
 * with: one per unit of either layout, each keeping its share under both (core/placement/reshard-overlap.ts).
 */
export function buildOverlapDocuments(
  shard: CompiledShard,
  from: SplitLayout,
  revision: { revision: string; generation: number; committedAt: string },
  units: readonly OverlapUnit[] = overlapUnits(shard, from),
): Map<string, DesiredDocument> {
  const docs = new Map<string, DesiredDocument>();
  for (const u of units) {
    docs.set(u.split.name, { ...buildDesiredDocument({ shard: u.split.name, ...revision, files: renderShardFiles(shard, u.split), owners: ownersOf(shard) }), ...splitInfo(u.split) });
  }
  return docs;
}

/**
 * What a unit of an abandoned layout runs once the overlap is over: the shard's global settings and
 * remote_write, and no scrape job, so that its Prometheus stops scraping the targets it handed over.
 */
export function buildRetiredDocument(shard: CompiledShard, split: SplitUnit, revision: { revision: string; generation: number; committedAt: string }): DesiredDocument {
  return { ...buildDesiredDocument({ shard: split.name, ...revision, files: renderShardFiles({ ...shard, jobs: [] }, split), owners: {} }), ...splitInfo(split) };
}

export function buildShardDocuments(
  model: CompiledRepository,
  revision: { revision: string; generation: number; committedAt: string },
  opts: { cache?: CompileCache } = {},
): Map<string, DesiredDocument> {
  const docs = new Map<string, DesiredDocument>();
  for (const shard of model.shards) {
    // One document per split (just one, named after the shard, when it is not split): each split is
    // its own rollout unit, with its own replicas, keyed by its document name everywhere downstream.
    for (const split of splitUnits(shard)) {
      const render = () => ({ ...buildDesiredDocument({ shard: split.name, ...revision, files: renderShardFiles(shard, split), owners: ownersOf(shard) }), ...splitInfo(split) });
      // A cached rendering carries the revision it was first rendered for: only the files, their hashes
      // and the owners are reused, the revision fields are this one's. shards.yaml (where splits are
      // declared) is part of every cache key, so keying by the split's name is enough here.
      docs.set(split.name, opts.cache ? { ...opts.cache.render(split.name, shard.jobs, render), ...revision } : render());
    }
  }
  return docs;
}
