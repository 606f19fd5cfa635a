// One push of a desired document to one replica: bounded concurrency (shared semaphore), a timeout,
// retries with exponential backoff and jitter on transport failures, and the bookkeeping that follows
// (registry, metrics, timeline). The agent's verdict is returned as a PushOutcome.
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { Logger } from '../core/log/logger.ts';
import type { ApplyResponse } from '../core/protocol/agent-api.ts';
import { AgentProtocolError, AgentUnreachable, type AgentClient } from './agent-client.ts';
import type { AgentFaults } from './agent-faults.ts';
import type { AgentRecord } from './agent-registry.ts';
import { backoffDelayMs, sleep } from '../core/time/backoff.ts';
import type { ControllerState, RevisionRef } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { Semaphore } from './semaphore.ts';
import type { Leadership } from './kubernetes/leadership.ts';

export type PushOutcome =
  | { kind: 'proven'; body: ApplyResponse } // applied or unchanged: the replica runs the document
  | { kind: 'refused'; body: ApplyResponse } // rolled-back or rejected: the document failed on this replica
  | { kind: 'stale'; body: ApplyResponse } // 409: the replica runs a newer generation (or another document at this one)
  | { kind: 'unverified'; body: ApplyResponse } // written, but Prometheus went down with this (or a just-loaded) document: not proven
  | { kind: 'prometheus-down'; body: ApplyResponse } // written, but Prometheus was already down before it: not proven, not to blame
  | { kind: 'superseded'; body: ApplyResponse }
  | { kind: 'unreachable'; error: string; protocolError?: true }; // no answer, or (protocolError) an answer outside the protocol: proves nothing

export interface PusherOptions {
  client: AgentClient;
  faults: AgentFaults;
  state: ControllerState;
  metrics: ControllerMetrics;
  log: Logger;
  semaphore: Semaphore;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  signal: AbortSignal;
  /** Stamps the leader's term on every push (Kubernetes mode); an agent that has seen a higher one deposes us. */
  leadership: Leadership;
}

export class Pusher {
  constructor(private readonly o: PusherOptions) {}

  async push(rec: AgentRecord, doc: DesiredDocument, ref: RevisionRef | null): Promise<PushOutcome> {
    const started = performance.now();
    let attempt = 0;
    let outcome: PushOutcome;
    rec.pushing = true;
    const term = this.o.leadership.term();
    try {
      for (;;) {
        try {
          const answer = await this.o.semaphore.run(() => this.o.client.push(rec, doc, undefined, term));
          outcome = classify(answer.httpStatus, answer.body);
          this.o.faults.ok(rec, 'apply');
          break;
        } catch (err) {
          // Not retried: the agent did answer, and whatever it did is unknown; the replica stays unproven.
          if (err instanceof AgentProtocolError) {
            this.o.faults.fault(rec, 'apply', err.reason);
            outcome = { kind: 'unreachable', error: err.message, protocolError: true };
            break;
          }
          if (!(err instanceof AgentUnreachable)) throw err;
          if (attempt >= this.o.retries || this.o.signal.aborted) {
            outcome = { kind: 'unreachable', error: err.message };
            break;
          }
          await sleep(backoffDelayMs(attempt++, this.o.retryBaseMs, this.o.retryMaxMs), this.o.signal);
        }
      }
    } finally {
      rec.pushing = false;
    }
    const durationMs = performance.now() - started;
    const result = outcome.kind === 'unreachable' ? 'error' : outcome.body.result;
    const error = outcome.kind === 'unreachable' ? outcome.error : outcome.body.error;
    rec.lastPush = { at: new Date().toISOString(), revision: doc.revision, hash: doc.hash, result, ...(error ? { error } : {}), durationMs: Math.round(durationMs), attempts: attempt + 1 };
    this.o.metrics.pushesTotal.inc({ result });
    this.o.metrics.pushDuration.observe(durationMs / 1000);

    if (outcome.kind === 'unreachable' && outcome.protocolError) {
      rec.lastError = outcome.error;
    } else if (outcome.kind === 'unreachable') {
      if (rec.reachable !== false) this.o.state.record({ type: 'agent-unreachable', shard: rec.shard, replica: rec.replica, message: `agent ${rec.key} did not answer the push: ${outcome.error}`, error: outcome.error });
      rec.reachable = false;
      rec.lastError = outcome.error;
    } else {
      rec.reachable = true;
      rec.lastContactAt = Date.now();
      rec.lastError = null;
    }
    if (outcome.kind !== 'unreachable') {
      // Fenced at our term once it took (or weighed) our push; a higher term in a 409 means a newer leader.
      const seen = Math.max(outcome.body.term ?? 0, term);
      if (seen > (rec.term ?? 0)) rec.term = seen;
      if (outcome.kind === 'stale' && (outcome.body.term ?? 0) > term) this.o.leadership.observedTerm(outcome.body.term!);
    }
    if (outcome.kind === 'proven') {
      rec.applied = { revision: doc.revision, generation: doc.generation, hash: doc.hash, verified: true };
      rec.failure = null;
      rec.provenByPushAt = Date.now();
      if (outcome.body.result === 'applied' && ref) this.o.metrics.commitToApplied.observe(Math.max(0, Date.now() - ref.receivedAt) / 1000);
    }
    this.o.state.record({
      type: 'push',
      shard: rec.shard,
      replica: rec.replica,
      revision: doc.revision,
      result,
      ...(error ? { error } : {}),
      message: `push of ${doc.revision.slice(0, 12)} to ${rec.key}: ${result}${error ? ` (${error})` : ''}`,
    });
    this.o.log.info('push finished', { shard: rec.shard, replica: rec.replica, revision: doc.revision, result, error, durationMs: Math.round(durationMs), attempts: attempt + 1 });
    return outcome;
  }
}

function classify(httpStatus: number, body: ApplyResponse): PushOutcome {
  switch (body.result) {
    case 'applied':
    case 'unchanged':
      return { kind: 'proven', body };
    case 'written-unverified':
      return body.prometheusDown?.cause === 'before-document' ? { kind: 'prometheus-down', body } : { kind: 'unverified', body };
    case 'superseded':
      return { kind: 'superseded', body };
    case 'rejected':
      return httpStatus === 409 ? { kind: 'stale', body } : { kind: 'refused', body };
    default:
      return { kind: 'refused', body };
  }
}
