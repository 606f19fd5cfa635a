// The outbox between the controller and the git host. Rollouts only ever enqueue (synchronous, O(1)):
// a host that is slow, down or rate limiting can delay statuses, never a rollout. Bounded: a status
// waiting for the same commit and context is replaced by the newer one (only the latest matters); a
// full queue drops its oldest status; a status is dropped after `maxAttempts` or when the host refuses
// it for good (4xx other than 429). Every drop is counted by reason.
import { backoffDelayMs } from '../../core/time/backoff.ts';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../core/log/logger.ts';
import { GitHostError } from '../../core/githost/http-client.ts';
import type { CommitStatus } from '../../core/githost/git-host.ts';

export interface QueuedStatus {
  sha: string;
  status: CommitStatus;
  attempts: number;
  notBefore: number;
  enqueuedAt: number;
}

export interface StatusQueueOptions {
  send: (sha: string, status: CommitStatus) => Promise<void>;
  /** Checked right before each send: a controller that stopped leading drops instead. */
  mayWrite: () => boolean;
  registry: Registry;
  log: Logger;
  maxQueued?: number; // default 500
  maxAttempts?: number; // default 6
  backoffBaseMs?: number; // default 1 s
  backoffMaxMs?: number; // default 60 s
  concurrency?: number; // default 4
}

export type DropReason = 'queue-full' | 'retries' | 'refused' | 'not-leader';

export function commitStatusMetrics(registry: Registry) {
  return {
    sent: new Counter({ name: 'promshard_controller_commit_status_sent_total', help: 'Commit statuses the git host accepted, by state.', labelNames: ['state'], registers: [registry] }),
    failed: new Counter({ name: 'promshard_controller_commit_status_failed_total', help: 'Attempts to send a commit status that failed (HTTP status, or 0 without an answer); retried until dropped.', labelNames: ['code'], registers: [registry] }),
    dropped: new Counter({ name: 'promshard_controller_commit_status_dropped_total', help: 'Commit statuses given up on, by reason: queue-full, retries, refused (4xx), not-leader.', labelNames: ['reason'], registers: [registry] }),
    queued: new Gauge({ name: 'promshard_controller_commit_status_queued', help: 'Commit statuses waiting to be sent.', registers: [registry] }),
  };
}

export class StatusQueue {
  private readonly waiting = new Map<string, QueuedStatus>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  readonly metrics: ReturnType<typeof commitStatusMetrics>;

  constructor(private readonly o: StatusQueueOptions) {
    this.metrics = commitStatusMetrics(o.registry);
  }

  push(sha: string, status: CommitStatus): void {
    if (this.closed) return;
    const key = `${sha}\u0000${status.context}`;
    // Re-inserting keeps the map in arrival order, so "oldest" below means oldest news.
    this.waiting.delete(key);
    this.waiting.set(key, { sha, status, attempts: 0, notBefore: 0, enqueuedAt: Date.now() });
    while (this.waiting.size > (this.o.maxQueued ?? 500)) {
      const [oldest, item] = this.waiting.entries().next().value!;
      this.waiting.delete(oldest);
      this.drop(item, 'queue-full');
    }
    this.metrics.queued.set(this.waiting.size);
    this.pump();
  }

  get size(): number {
    return this.waiting.size;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.waiting.clear();
  }

  private drop(item: QueuedStatus, reason: DropReason, detail?: string): void {
    this.metrics.dropped.inc({ reason });
    this.o.log.warn('commit status dropped', { sha: item.sha, context: item.status.context, state: item.status.state, reason, detail });
  }

  private pump(): void {
    if (this.closed) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const now = Date.now();
    let nextAt = Infinity;
    for (const [key, item] of this.waiting) {
      if (this.inFlight >= (this.o.concurrency ?? 4)) break;
      if (item.notBefore > now) {
        nextAt = Math.min(nextAt, item.notBefore);
        continue;
      }
      this.waiting.delete(key);
      this.inFlight++;
      void this.sendOne(key, item).finally(() => {
        this.inFlight--;
        this.metrics.queued.set(this.waiting.size);
        this.pump();
      });
    }
    if (nextAt < Infinity && this.inFlight < (this.o.concurrency ?? 4)) {
      this.timer = setTimeout(() => this.pump(), Math.max(1, nextAt - Date.now()));
      this.timer.unref();
    }
  }

  private async sendOne(key: string, item: QueuedStatus): Promise<void> {
    if (!this.o.mayWrite()) return this.drop(item, 'not-leader');
    try {
      await this.o.send(item.sha, item.status);
      this.metrics.sent.inc({ state: item.status.state });
    } catch (err) {
      if (this.closed) return;
      const e = err instanceof GitHostError ? err : new GitHostError((err as Error).message, 0);
      this.metrics.failed.inc({ code: String(e.status) });
      // A newer status for the same context arrived meanwhile: it replaces this one.
      if (this.waiting.has(key)) return;
      const permanent = e.status >= 400 && e.status < 500 && e.status !== 429 && e.retryAfterMs === undefined;
      if (permanent) return this.drop(item, 'refused', e.message);
      item.attempts++;
      if (item.attempts >= (this.o.maxAttempts ?? 6)) return this.drop(item, 'retries', e.message);
      const backoff = backoffDelayMs(item.attempts - 1, this.o.backoffBaseMs ?? 1000, this.o.backoffMaxMs ?? 60_000);
      item.notBefore = Date.now() + Math.max(backoff, e.retryAfterMs ?? 0);
      this.waiting.set(key, item);
    }
  }
}
