// Pure judgements over the controller's state: is a replica in sync, is a document proven, what
// should a replica that pulls receive, how late is a shard. Used by the rollout worker, the API and
// the metrics, so that they always agree.
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { AgentRecord } from './agent-registry.ts';
import type { ShardState } from './controller-state.ts';

/**
 * `held`: kept on its configuration by a halt (its shard's rollout halted at another replica, or its
 * wave's canary shard failed). `prometheus-down`: its agent answers but its Prometheus does not; the
 * rollout passed over it if Prometheus was down before the document reached it.
 */
export type ReplicaState = 'in-sync' | 'rolling-out' | 'held' | 'failed' | 'prometheus-down' | 'unreachable' | 'unknown';

export const REPLICA_STATES: readonly ReplicaState[] = ['in-sync', 'rolling-out', 'held', 'failed', 'prometheus-down', 'unreachable', 'unknown'];

export interface ReplicaStatus {
  state: ReplicaState;
  /** Why, in words, when the state is not self-explanatory. */
  reason?: string;
}

export function runsHash(rec: AgentRecord, hash: string | undefined): boolean {
  return hash !== undefined && rec.applied?.hash === hash && rec.applied.verified;
}

export function replicaState(shard: ShardState | undefined, rec: AgentRecord): ReplicaState {
  return replicaStatus(shard, rec).state;
}

export function replicaStatus(shard: ShardState | undefined, rec: AgentRecord): ReplicaStatus {
  if (rec.reachable === false) return { state: 'unreachable', ...(rec.lastError ? { reason: rec.lastError } : {}) };
  const desired = shard?.desired;
  if (!desired) return { state: 'unknown' };
  if (runsHash(rec, desired.hash)) return { state: 'in-sync' };
  const released = shard.released;
  if (rec.failure && rec.failure.hash === released?.hash) return { state: 'failed', reason: rec.failure.error };
  if (rec.prometheusDown) {
    const skipped = rec.prometheusDown.hash === released?.hash;
    return { state: 'prometheus-down', reason: `${rec.prometheusDown.reason}${skipped ? `; the rollout of ${rec.prometheusDown.revision.slice(0, 12)} skipped this replica and went on, and its agent proves the written files when Prometheus answers` : ''}` };
  }
  if (rec.reachable === null && !rec.applied) return { state: 'unknown' };
  if (shard.heldBy) return { state: 'held', reason: shard.heldBy };
  const r = shard.rollout;
  if (released && r && r.status === 'failed' && r.hash === released.hash && r.failedReplica !== rec.replica) {
    return { state: 'held', reason: `the rollout of ${r.revision.slice(0, 12)} halted at replica ${r.failedReplica} (${r.haltReason ?? 'it did not prove the document'}), so this replica keeps its configuration` };
  }
  if (released && desired.hash !== released.hash) return { state: 'rolling-out', reason: `revision ${desired.revision.slice(0, 12)} waits for its wave's canary shard` };
  return { state: 'rolling-out' };
}

/** A document is proven once any replica of its shard runs it with a proven reload. */
export function proven(replicas: readonly AgentRecord[], doc: DesiredDocument | null): boolean {
  return !!doc && replicas.some((r) => runsHash(r, doc.hash));
}

/**
 * What a replica gets from GET /v1/agents/desired: the released document once it is proven (or when
 * this replica is the one trying it first), so that a pull can never carry an unproven configuration
 * past a halted rollout; before that, the last proven document to a replica that runs nothing; null
 * (404) when a pull would only make the replica reload a superseded revision.
 */
export function documentForReplica(shard: ShardState, replicas: readonly AgentRecord[], replica: string): DesiredDocument | null {
  const released = shard.released;
  if (!released) return shard.stable;
  // A newer document waits for its canary: everything released so far is superseded, and a replica
  // keeps what it runs rather than reload a revision it would leave again at once.
  if (shard.desired && shard.desired.hash !== released.hash) return null;
  if (proven(replicas, released) || shard.trialReplica === replica) return released;
  if (!replicas.some((r) => r.replica !== replica)) return released; // alone in its shard: nothing to protect
  // The last proven document, but only to a replica that runs nothing yet (or runs it already): to any
  // other it is a revision already superseded by the released one, which reaches it once proven.
  const applied = replicas.find((r) => r.replica === replica)?.applied;
  return !applied || applied.hash === shard.stable?.hash ? shard.stable : null;
}

/**
 * 'ok' when every reachable replica runs `hash`; 'failed' when a reachable replica refused it; null
 * otherwise. A replica skipped because its Prometheus was down counts as unreachable.
 */
export function settlement(replicas: readonly AgentRecord[], hash: string): 'ok' | 'failed' | null {
  const reachable = replicas.filter((r) => r.reachable !== false && r.prometheusDown?.hash !== hash);
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
