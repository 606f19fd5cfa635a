// One rollout worker per shard, single-flight with a "latest desired" slot: kick() while a pass runs
// makes it run again, and every pass reads the shard's released document afresh, so the newest
// revision always wins and no update is lost, whatever the interleaving.
//
// A pass walks the replicas in order (natural sort of the replica name). A replica gets the document
// only after the one before it proved its reload (`applied` or `unchanged`). A refusal (rolled-back,
// rejected, a stale 409, or Prometheus going down with the document) halts the shard: later replicas
// stay on their configuration (`held`), and the failed replica is retried with exponential backoff
// (the reconcile loop kicks the worker) until it takes the document or a newer revision is released.
// An unreachable replica, and one whose Prometheus was already down before the document reached it,
// is skipped (it proves nothing and refuses nothing); it converges when it comes back, by push, by its
// own pull, or (Prometheus down) by its agent proving the written files when Prometheus answers.
// A released document that is no longer the shard's desired one (a newer revision waits for its
// canary) is not pushed any further: no replica reloads a revision that is already superseded.
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AgentRecord, AgentRegistry } from './agent-registry.ts';
import { backoffDelayMs } from '../core/time/backoff.ts';
import type { ControllerState, RolloutRecord, ShardState } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { Pusher } from './pusher.ts';
import { proven, runsHash } from './replica-status.ts';
import type { Leadership } from './kubernetes/leadership.ts';

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
  /** Only the leader pushes; a replica not yet fenced at the leader's term gets the document again (an `unchanged` push) so a deposed leader can change nothing there. */
  leadership: Leadership;
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
    if (s.rollout && s.rollout.hash === target.hash && s.rollout.status !== 'superseded') {
      s.rollout.generation = target.generation; // stamped again after a recovery: same document
      return s.rollout;
    }
    this.supersede(s.rollout);
    const r: RolloutRecord = { revision: target.revision, generation: target.generation, hash: target.hash, startedAt: new Date().toISOString(), finishedAt: null, status: 'rolling-out', proven: [], skipped: [] };
    s.rollout = r;
    s.history = [r, ...s.history].slice(0, this.o.historySize ?? 20);
    this.o.state.record({ type: 'rollout-started', shard: s.name, revision: target.revision, message: `rollout of ${target.revision.slice(0, 12)} to shard ${s.name} started` });
    return r;
  }

  private supersede(r: RolloutRecord | null): void {
    if (!r || r.status === 'done' || r.status === 'superseded') return;
    r.status = 'superseded';
    r.finishedAt = new Date().toISOString();
    this.o.metrics.rolloutsTotal.inc({ outcome: 'superseded' });
  }

  /** A newer document than the released one is desired: it waits for its canary, and this one is stale. */
  private outdated(target: DesiredDocument): boolean {
    const desired = this.shard.desired;
    return !!desired && desired.hash !== target.hash;
  }

  /** Checked before each replica: a superseded target is paused; only the leader pushes. */
  private mayPush(target: DesiredDocument): boolean {
    if (this.outdated(target)) {
      this.pause(target);
      return false;
    }
    return this.o.leadership.isLeader();
  }

  /** Stops pushing a superseded document; the shard takes the newest one when its wave releases it. */
  private pause(target: DesiredDocument): void {
    const r = this.shard.rollout;
    if (!r || r.hash !== target.hash || r.status === 'superseded' || r.status === 'done') return;
    this.supersede(r);
    const desired = this.shard.desired!;
    this.o.state.record({ type: 'rollout-superseded', shard: this.shard.name, revision: target.revision, message: `rollout of ${target.revision.slice(0, 12)} to shard ${this.shard.name} stopped: revision ${desired.revision.slice(0, 12)} supersedes it and waits for its canary; no more replicas reload ${target.revision.slice(0, 12)}` });
  }

  private async pass(): Promise<void> {
    const s = this.shard;
    const target = s.released;
    if (!target) return;
    if (!this.mayPush(target)) return;
    const replicas = this.o.registry.replicasOf(s.name);
    if (replicas.length === 0) return;
    if (replicas.every((r) => this.settled(r, target))) {
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
      if (!this.mayPush(target)) return; // superseded, or stepped down mid-pass: the new leader goes on from what agents report
      if (this.settled(rec, target)) continue;
      if (rec.reachable === false) {
        pending = true;
        continue;
      }
      if (rec.prometheusDown?.hash === target.hash) {
        pending = true; // its agent has the files and proves them when Prometheus answers
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
      if (outcome === 'prometheus-down') {
        pending = true;
        const reason = rec.prometheusDown!.reason;
        if (!rollout.skipped.some((x) => x.replica === rec.replica)) rollout.skipped.push({ replica: rec.replica, reason });
        this.o.state.record({ type: 'replica-skipped', shard: s.name, replica: rec.replica, revision: target.revision, error: reason, message: `rollout of ${target.revision.slice(0, 12)} to shard ${s.name} skipped replica ${rec.replica} and goes on: its Prometheus was already down (${reason}); the agent has the files and proves them when Prometheus answers` });
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
      rollout.haltReason = haltReason(this.o.registry.get(s.name, halted.replica)?.failure?.result);
      if (failedNow) {
        this.o.metrics.rolloutsTotal.inc({ outcome: 'failed' });
        this.o.state.record({ type: 'rollout-failed', shard: s.name, replica: halted.replica, revision: target.revision, error: halted.error, message: `rollout of ${target.revision.slice(0, 12)} to shard ${s.name} halted at replica ${halted.replica} (${rollout.haltReason}): ${halted.error}` });
      }
      return;
    }
    if (!pending) this.finishIfOpen(target, 'done');
    else if (rollout.status === 'failed') rollout.status = 'rolling-out';
  }

  /** Runs the target and has seen our term (outside Kubernetes the term is 0: running it is enough). */
  private settled(rec: AgentRecord, target: DesiredDocument): boolean {
    return runsHash(rec, target.hash) && (rec.term ?? 0) >= this.o.leadership.term();
  }

  private finishIfOpen(target: DesiredDocument, status: 'done'): void {
    const r = this.shard.rollout;
    if (!r || r.hash !== target.hash || r.status === 'done') return;
    r.status = status;
    r.finishedAt = new Date().toISOString();
    delete r.failedReplica;
    delete r.error;
    delete r.haltReason;
    this.o.metrics.rolloutsTotal.inc({ outcome: 'succeeded' });
    this.o.state.record({ type: 'rollout-done', shard: this.shard.name, revision: target.revision, message: `shard ${this.shard.name} runs ${target.revision.slice(0, 12)} on every reachable replica` });
  }

  /** Pushes to one replica; a `superseded` answer (a pull raced us) is retried at once, a few times. */
  private async pushUntilAnswered(rec: AgentRecord, target: DesiredDocument): Promise<'proven' | 'failed' | 'unreachable' | 'newer' | 'prometheus-down'> {
    for (let i = 0; i < 3; i++) {
      if (this.shard.released !== target || this.outdated(target) || !this.o.leadership.isLeader()) return 'newer'; // not leading: the pass ends at its next check
      const outcome = await this.o.pusher.push(rec, target, this.shard.releasedRef);
      switch (outcome.kind) {
        case 'proven':
          rec.prometheusDown = null;
          return 'proven';
        case 'unreachable':
          return 'unreachable';
        case 'superseded':
          continue;
        case 'prometheus-down': {
          const down = outcome.body.prometheusDown!;
          rec.prometheusDown = { hash: target.hash, revision: target.revision, since: down.since, reason: down.reason };
          rec.failure = null;
          return 'prometheus-down';
        }
        case 'refused':
        case 'stale':
        case 'unverified': {
          // Stamped again meanwhile (the controller learned a higher generation from an agent): retry at once.
          if (outcome.kind === 'stale' && this.shard.released !== target) return 'newer';
          const attempts = rec.failure?.hash === target.hash ? rec.failure.attempts + 1 : 1;
          const error =
            outcome.kind === 'stale'
              ? `replica runs a newer revision: ${outcome.body.error ?? ''}`.trim()
              : outcome.kind === 'unverified'
                ? `written but not proven: ${outcome.body.prometheusDown?.reason ?? `Prometheus stopped answering while it loaded this document`}${outcome.body.error ? ` (${outcome.body.error})` : ''}`
                : (outcome.body.error ?? outcome.body.result);
          const result = outcome.kind === 'stale' ? 'stale' : outcome.body.result;
          rec.failure = { hash: target.hash, revision: target.revision, attempts, retryAt: Date.now() + backoffDelayMs(attempts - 1, this.o.failureRetryBaseMs, this.o.failureRetryMaxMs), error, result };
          return 'failed';
        }
      }
    }
    return 'unreachable';
  }
}

/** Why a replica's failure halts the rollout, in words (shown with the halt on the API and dashboard). */
export function haltReason(result: string | undefined): string {
  switch (result) {
    case 'written-unverified':
      return 'Prometheus went down during or right after this document: it may be a poisoned configuration';
    case 'rolled-back':
      return 'Prometheus refused the configuration and the agent restored the previous one';
    case 'rejected':
      return 'the agent refused the document before touching anything';
    case 'stale':
      return 'the replica runs a newer generation (another controller?)';
    default:
      return 'the replica did not prove the document';
  }
}
