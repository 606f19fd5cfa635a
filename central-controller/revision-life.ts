// A revision's life as one record (DESIGN.md): commit received → compiled → each replica applied →
// each new target's first successful scrape. The store keeps the last N records; the API
// (/v1/revisions/:sha), the dashboard's revision page, the commit-status reporter and the
// commit→first-scrape histogram all read these records, so they cannot disagree.
//
// Readers subscribe with `onChange(fn)`: fn(sha) runs (synchronously, errors caught and logged by the
// caller's own code) whenever anything in that revision's record changed. Records are plain JSON.
import { EventEmitter } from 'node:events';

/** A finding of the commit, located (file:line:col), as shown to the author. */
export interface RevisionFinding {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  rule: string;
  message: string;
}

export type ShardOutcome =
  | 'pending' // changed, not yet released to this shard (its wave waits for the canary shard)
  | 'rolling-out'
  | 'applied' // every reachable replica runs it
  | 'halted' // stopped at a replica for another reason than Prometheus's refusal (down with the document, stale…)
  | 'refused' // Prometheus (or the agent) refused the configuration: `prometheusError` holds its text
  | 'superseded' // a newer revision replaced it before it finished
  | 'unchanged'; // this revision did not change this shard's document

export interface ReplicaLife {
  /** When the replica proved its reload of this revision (ISO 8601). */
  appliedAt?: string;
  proven: boolean;
  /** The push's duration, including reload and proof. */
  applyMs?: number;
  /** The agent's answer: applied, unchanged, rolled-back, rejected, written-unverified, error… */
  result?: string;
  error?: string;
}

export type TargetHealth = 'unknown' | 'up' | 'down';

export interface TargetLife {
  job: string;
  /** The address as written in the team file (Prometheus's __address__). */
  address: string;
  team: string;
  /** added: new job or new address; changed: its job's settings changed. */
  change: 'added' | 'changed';
  health: TargetHealth;
  /** Prometheus's own error for the last scrape (connection refused, 401, timeout…). */
  lastError?: string;
  /** Prometheus's time of the first successful scrape seen after this revision ran (ISO 8601). */
  firstScrapeAt?: string;
  lastScrapeAt?: string;
  /** The replica whose Prometheus answered. */
  replica?: string;
}

export interface ShardLife {
  changed: boolean;
  rolloutStartedAt?: string;
  outcome: ShardOutcome;
  /** Why it is halted, pending or refused, in words. */
  reason?: string;
  /** Prometheus's (or promtool's) own error text when refused. */
  prometheusError?: string;
  replicas: Record<string, ReplicaLife>;
  targets: TargetLife[];
  /** True once every target is up, or the health watch's bound passed (at once when there are none). */
  targetsSettled: boolean;
}

export interface RevisionLife {
  sha: string;
  generation: number | null;
  message: string;
  author: string;
  committedAt: string;
  receivedAt: string;
  compiledAt: string | null;
  /** null until compiled; false: the commit has error findings (nothing of it, or not all, is served). */
  valid: boolean | null;
  /** How many findings the commit has, and the first few, located. */
  findingCount: number;
  findings: RevisionFinding[];
  quarantined: { file: string; team: string | null; kept: string | null }[];
  /** Why nothing of this commit is served, when so. */
  held: string | null;
  shards: Record<string, ShardLife>;
}

export const MAX_FINDINGS_KEPT = 20;

/** The last `capacity` revisions, newest first in `list()`. */
export class RevisionLives {
  private readonly records = new Map<string, RevisionLife>();
  private readonly emitter = new EventEmitter();

  constructor(readonly capacity = 50) {
    this.emitter.setMaxListeners(0);
  }

  get(sha: string): RevisionLife | undefined {
    return this.records.get(sha) ?? (sha.length >= 7 ? [...this.records.values()].find((r) => r.sha.startsWith(sha)) : undefined);
  }

  list(): RevisionLife[] {
    return [...this.records.values()].reverse();
  }

  /** Creates (or returns) the record of a commit; the oldest record leaves when over capacity. */
  upsert(sha: string, init: () => RevisionLife): RevisionLife {
    let r = this.records.get(sha);
    if (!r) {
      r = init();
      this.records.set(sha, r);
      while (this.records.size > this.capacity) this.records.delete(this.records.keys().next().value!);
    }
    return r;
  }

  /** Says that a record changed (G1's commit statuses, the dashboard's live view). */
  changed(sha: string): void {
    this.emitter.emit('revisionChanged', sha);
  }

  onChange(fn: (sha: string) => void): () => void {
    this.emitter.on('revisionChanged', fn);
    return () => this.emitter.off('revisionChanged', fn);
  }
}

/** A revision touches a team when it changed one of its targets or quarantined one of its files. */
export function revisionTouchesTeam(r: RevisionLife, team: string): boolean {
  return Object.values(r.shards).some((s) => s.targets.some((t) => t.team === team)) || r.quarantined.some((q) => q.team === team);
}
