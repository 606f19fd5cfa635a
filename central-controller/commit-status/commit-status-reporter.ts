// Reports each revision's rollout on its commit through the git host's commit-status API. It listens
// to the revision records (revision-life.ts), works out each context's status, and hands only the
// ones that changed to the outbox (status-queue.ts), which alone talks to the host. Only a leading
// controller writes: a follower keeps quiet, and a status queued before leadership was lost is dropped.
import type { Registry } from 'prom-client';
import type { Logger } from '../../core/log/logger.ts';
import type { GitHost } from '../../core/githost/git-host.ts';
import type { RevisionLives } from '../revision-life.ts';
import type { Leadership } from '../kubernetes/leadership.ts';
import { statusesForRevision } from './statuses-for-revision.ts';
import { StatusQueue, type StatusQueueOptions } from './status-queue.ts';

export interface CommitStatusReporterOptions {
  host: GitHost;
  /** The dashboard's public base URL: each status links to `<externalUrl>/revisions/<sha>`. */
  externalUrl?: string;
  revisions: RevisionLives;
  leadership: Leadership;
  registry: Registry;
  log: Logger;
  queue?: Partial<Pick<StatusQueueOptions, 'maxQueued' | 'maxAttempts' | 'backoffBaseMs' | 'backoffMaxMs' | 'concurrency'>>;
}

export class CommitStatusReporter {
  readonly queue: StatusQueue;
  /** What was last handed to the queue per commit and context, so that unchanged news is not resent. */
  private readonly said = new Map<string, string>();
  private readonly unsubscribe: () => void;
  private readonly unsubscribeLeadership: () => void;

  constructor(private readonly o: CommitStatusReporterOptions) {
    this.queue = new StatusQueue({
      ...o.queue,
      send: (sha, status) => o.host.setCommitStatus(sha, status),
      mayWrite: () => o.leadership.isLeader(),
      registry: o.registry,
      log: o.log.child({ component: 'commit-status' }),
    });
    this.unsubscribe = o.revisions.onChange((sha) => {
      // Runs inside whatever changed the record (a rollout step): it must not throw nor wait.
      try {
        this.onRevision(sha);
      } catch (err) {
        o.log.error('commit status not computed', { sha, error: err });
      }
    });
    this.unsubscribeLeadership = o.leadership.onChange((leading) => {
      try {
        this.onLeadership(leading);
      } catch (err) {
        o.log.error('commit statuses not recomputed for the new leader', { error: err });
      }
    });
  }

  /** A new leader says again what the recent revisions' statuses are (the old leader may have dropped them). */
  private onLeadership(leading: boolean): void {
    if (!leading) return;
    this.said.clear();
    for (const r of this.o.revisions.list().slice(0, 20)) this.onRevision(r.sha);
  }

  private onRevision(sha: string): void {
    if (!this.o.leadership.isLeader()) return;
    const record = this.o.revisions.get(sha);
    if (!record || record.sha !== sha) return;
    for (const status of statusesForRevision(record, this.o.externalUrl)) {
      const key = `${sha}\u0000${status.context}`;
      const text = `${status.state}\u0000${status.description}`;
      if (this.said.get(key) === text) continue;
      this.said.set(key, text);
      this.queue.push(sha, status);
    }
    // Bounded memory: forget the oldest commits' last words (their records leave the store as well).
    while (this.said.size > 5000) this.said.delete(this.said.keys().next().value!);
  }

  close(): void {
    this.unsubscribe();
    this.unsubscribeLeadership();
    this.queue.close();
  }
}
