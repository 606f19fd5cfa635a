// One rollout worker per shard, single-flight with a "latest desired" slot: kick() while a pass runs
// makes it run again, and every pass reads the shard's released document afresh, so the newest
// revision always wins and no update is lost, whatever the interleaving.
//
// A pass walks the replicas in order (natural sort of the replica name). A replica gets the document
// only after the one before it proved its reload (`applied` or `unchanged`). A refusal (rolled-back,
// rejected, or a stale 409) halts the shard: later replicas stay on their configuration, and the
// failed replica is retried with exponential backoff (the reconcile loop kicks the worker) until it
// takes the document or a newer revision is released. An unreachable replica is skipped (it proves
// nothing and refuses nothing); it converges when it comes back, by push or by its own pull.
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AgentRecord, AgentRegistry } from './agent-registry.ts';
import { backoffDelayMs } from '../core/time/backoff.ts';
import type { ControllerState, RolloutRecord, ShardState } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { Pusher } from './pusher.ts';
import { proven, runsHash } from './replica-status.ts';

export interface ShardWorkerOptions {
  state: ControllerState;
  registry: AgentRegistry;
  pusher: Pusher;
  metrics: ControllerMetrics;
  log: Logger;
  /** Backoff for retrying a replica that refused (or could not prove) a document. */
  failureRetryBaseMs: number;
  failureRetryMaxMs: number;
  historySize?: number;
}

export class ShardWorker {
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly shard: ShardState,
    private readonly o: ShardWorkerOptions,
  ) {}

  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  get busy(): boolean {
    return this.running !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (err) {
        this.o.log.error('rollout pass failed', { shard: this.shard.name, error: err });
      }
      this.o.state.shardChanged(this.shard.name);
    } while (this.again && !this.closed);
  }

  private startRollout(target: DesiredDocument): RolloutRecord {
    const s = this.shard;
    if (s.rollout && s.rollout.hash === target.hash) return s.rollout;
    if (s.rollout && s.rollout.status !== 'done') {
      s.rollout.status = 'superseded';
      s.rollout.finishedAt = new Date().toISOString();
      this.o.metrics.rolloutsTotal.inc({ outcome: 'superseded' });
    }
    const r: RolloutRecord = { revision: target.revision, sequence: target.sequence, hash: target.hash, startedAt: new Date().toISOString(), finishedAt: null, status: 'rolling-out', proven: [] };
    s.rollout = r;
    s.history = [r, ...s.history].slice(0, this.o.historySize ?? 20);
    this.o.state.record({ type: 'rollout-started', shard: s.name, revision: target.revision, message: `rollout of ${target.revision.slice(0, 12)} to shard ${s.name} started` });
    return r;
  }

  private async pass(): Promise<void> {
    const s = this.shard;
    const target = s.released;
    if (!target) return;
    const replicas = this.o.registry.replicasOf(s.name);
    if (replicas.length === 0) return;
    if (replicas.every((r) => runsHash(r, target.hash))) {
      this.finishIfOpen(target, 'done');
      s.stable = target;
      return;
    }
    const rollout = this.startRollout(target);
    if (!proven(replicas, target) && s.trialReplica && !replicas.some((r) => r.replica === s.trialReplica)) s.trialReplica = null;

    let halted: { replica: string; error: string } | null = null;
    let pending = false;
    for (const rec of replicas) {
      if (this.closed) return;
      if (s.released !== target) {
        this.again = true; // a newer revision: start over with it, from the first replica
        return;
      }
      if (runsHash(rec, target.hash)) continue;
      if (rec.reachable === false) {
        pending = true;
        continue;
      }
      if (rec.failure && rec.failure.hash === target.hash && Date.now() < rec.failure.retryAt) {
        halted = { replica: rec.replica, error: rec.failure.error };
        break;
      }
      if (!proven(replicas, target)) s.trialReplica = rec.replica;
      const outcome = await this.pushUntilAnswered(rec, target);
      if (outcome === 'proven') {
        if (!rollout.proven.includes(rec.replica)) rollout.proven.push(rec.replica);
        s.stable = target;
        continue;
      }
      if (outcome === 'unreachable') {
        pending = true;
        continue;
      }
      if (outcome === 'newer') {
        this.again = true;
        return;
      }
      halted = { replica: rec.replica, error: rec.failure?.error ?? 'not proven' };
      break;
    }

    if (halted) {
      const failedNow = rollout.status !== 'failed' || rollout.failedReplica !== halted.replica;
      rollout.status = 'failed';
      rollout.failedReplica = halted.replica;
      rollout.error = halted.error;
      if (failedNow) {
        this.o.metrics.rolloutsTotal.inc({ outcome: 'failed' });
        this.o.state.record({ type: 'rollout-failed', shard: s.name, replica: halted.replica, revision: target.revision, error: halted.error, message: `rollout of ${target.revision.slice(0, 12)} to shard ${s.name} halted at replica ${halted.replica}: ${halted.error}` });
      }
      return;
    }
    if (!pending) this.finishIfOpen(target, 'done');
    else if (rollout.status === 'failed') rollout.status = 'rolling-out';
  }

  private finishIfOpen(target: DesiredDocument, status: 'done'): void {
    const r = this.shard.rollout;
    if (!r || r.hash !== target.hash || r.status === 'done') return;
    r.status = status;
    r.finishedAt = new Date().toISOString();
    delete r.failedReplica;
    delete r.error;
    this.o.metrics.rolloutsTotal.inc({ outcome: 'succeeded' });
    this.o.state.record({ type: 'rollout-done', shard: this.shard.name, revision: target.revision, message: `shard ${this.shard.name} runs ${target.revision.slice(0, 12)} on every reachable replica` });
  }

  /** Pushes to one replica; a `superseded` answer (a pull raced us) is retried at once, a few times. */
  private async pushUntilAnswered(rec: AgentRecord, target: DesiredDocument): Promise<'proven' | 'failed' | 'unreachable' | 'newer'> {
    for (let i = 0; i < 3; i++) {
      if (this.shard.released !== target) return 'newer';
      const outcome = await this.o.pusher.push(rec, target, this.shard.releasedRef);
      switch (outcome.kind) {
        case 'proven':
          return 'proven';
        case 'unreachable':
          return 'unreachable';
        case 'superseded':
          continue;
        case 'refused':
        case 'stale':
        case 'unverified': {
          const attempts = rec.failure?.hash === target.hash ? rec.failure.attempts + 1 : 1;
          const error =
            outcome.kind === 'stale'
              ? `replica runs a newer revision: ${outcome.body.error ?? ''}`.trim()
              : outcome.kind === 'unverified'
                ? `written but not proven (Prometheus unreachable): ${outcome.body.error ?? ''}`.trim()
                : (outcome.body.error ?? outcome.body.result);
          rec.failure = { hash: target.hash, revision: target.revision, attempts, retryAt: Date.now() + backoffDelayMs(attempts - 1, this.o.failureRetryBaseMs, this.o.failureRetryMaxMs), error, result: outcome.body.result };
          return 'failed';
        }
      }
    }
    return 'unreachable';
  }
}
