// Pure judgements over the controller's state: is a replica in sync, is a document proven, what
// should a replica that pulls receive, how late is a shard. Used by the rollout worker, the API and
// the metrics, so that they always agree.
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { AgentRecord } from './agent-registry.ts';
import type { ShardState } from './controller-state.ts';

export type ReplicaState = 'in-sync' | 'rolling-out' | 'failed' | 'unreachable' | 'unknown';

export function runsHash(rec: AgentRecord, hash: string | undefined): boolean {
  return hash !== undefined && rec.applied?.hash === hash && rec.applied.verified;
}

export function replicaState(shard: ShardState | undefined, rec: AgentRecord): ReplicaState {
  if (rec.reachable === false) return 'unreachable';
  const desired = shard?.desired;
  if (!desired) return rec.applied ? 'unknown' : 'unknown';
  if (runsHash(rec, desired.hash)) return 'in-sync';
  if (rec.failure && rec.failure.hash === shard.released?.hash) return 'failed';
  if (rec.reachable === null && !rec.applied) return 'unknown';
  return 'rolling-out';
}

/** A document is proven once any replica of its shard runs it with a proven reload. */
export function proven(replicas: readonly AgentRecord[], doc: DesiredDocument | null): boolean {
  return !!doc && replicas.some((r) => runsHash(r, doc.hash));
}

/**
 * What a replica gets from GET /v1/agents/desired: the released document once it is proven (or when
 * this replica is the one trying it first); otherwise the last proven document, so that a pull can
 * never carry an unproven configuration past a halted rollout.
 */
export function documentForReplica(shard: ShardState, replicas: readonly AgentRecord[], replica: string): DesiredDocument | null {
  const released = shard.released;
  if (!released) return shard.stable;
  if (proven(replicas, released) || shard.trialReplica === replica) return released;
  if (!replicas.some((r) => r.replica !== replica)) return released; // alone in its shard: nothing to protect
  return shard.stable;
}

/** 'ok' when every reachable replica runs `hash`; 'failed' when a reachable replica refused it; null otherwise. */
export function settlement(replicas: readonly AgentRecord[], hash: string): 'ok' | 'failed' | null {
  const reachable = replicas.filter((r) => r.reachable !== false);
  if (reachable.some((r) => r.failure?.hash === hash && !runsHash(r, hash))) return 'failed';
  if (reachable.every((r) => runsHash(r, hash))) return 'ok';
  return null;
}

export function shardInSync(shard: ShardState, replicas: readonly AgentRecord[]): boolean {
  return !!shard.desired && replicas.length > 0 && replicas.every((r) => runsHash(r, shard.desired!.hash));
}

/** Seconds since the desired commit was received, while some replica does not run it. */
export function shardLagSeconds(shard: ShardState, replicas: readonly AgentRecord[], now = Date.now()): number {
  if (!shard.desired || !shard.desiredRef || shardInSync(shard, replicas) || replicas.length === 0) return 0;
  return Math.max(0, (now - shard.desiredRef.receivedAt) / 1000);
}
