// Turns a compiled repository into one desired document per shard: what the controller rolls out and
// what `promshard render` writes to disk.
import { buildDesiredDocument, MAIN_CONFIG_FILE, type DesiredDocument, type JobOwner } from '../document/desired-document.ts';
import type { CompiledRepository, CompiledShard } from '../../schemas/model.ts';
import { renderPrometheusConfig } from './render-prometheus-config.ts';
import type { CompileCache } from '../compiler/compile-cache.ts';

export function ownersOf(shard: CompiledShard): Record<string, JobOwner> {
  const owners: Record<string, JobOwner> = {};
  for (const job of shard.jobs) owners[job.name] = { team: job.team, file: job.source.file, line: job.source.line, cardinality: job.cardinality };
  return owners;
}

export function renderShardFiles(shard: CompiledShard): { path: string; content: string }[] {
  return [{ path: MAIN_CONFIG_FILE, content: renderPrometheusConfig(shard) }];
}

export function buildShardDocuments(
  model: CompiledRepository,
  revision: { revision: string; generation: number; committedAt: string },
  opts: { cache?: CompileCache } = {},
): Map<string, DesiredDocument> {
  const docs = new Map<string, DesiredDocument>();
  for (const shard of model.shards) {
    const render = () => buildDesiredDocument({ shard: shard.name, ...revision, files: renderShardFiles(shard), owners: ownersOf(shard) });
    // A cached rendering carries the revision it was first rendered for: only the files, their hashes
    // and the owners are reused, the revision fields are this one's.
    docs.set(shard.name, opts.cache ? { ...opts.cache.render(shard.name, shard.jobs, render), ...revision } : render());
  }
  return docs;
}
