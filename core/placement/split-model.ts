// A split shard seen as its splits: each split becomes a CompiledShard named after its document
// (`<shard>.s<i>`) holding only the static targets its hashmod keeps. The controller keys its shard
// state, rollouts and revision record by document name, so it works on these units unchanged.
import type { CompiledRepository, CompiledShard, SplitUnit } from '../../schemas/model.ts';
import { splitUnits } from '../document/split-name.ts';
import { splitOfTarget } from './hashmod.ts';

// While a shard's split layout changes, its units are those of reshard-overlap.ts instead.
export function splitShardModel(shard: CompiledShard, split: SplitUnit): CompiledShard {
  if (split.count <= 1) return shard;
  return {
    ...shard,
    name: split.name,
    jobs: shard.jobs.map((job) => ({ ...job, targets: job.targets.filter((t) => splitOfTarget(job, t, split.by, split.count) === split.index) })),
  };
}

/** Every rollout unit of the repository: unsplit shards as they are, split shards as their splits. */
export function rolloutUnits(model: CompiledRepository): CompiledShard[] {
  return model.shards.flatMap((shard) => splitUnits(shard).map((split) => splitShardModel(shard, split)));
}
