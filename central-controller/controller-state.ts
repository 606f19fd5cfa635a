// Everything the controller knows, in one object that the API, the dashboard and the rollout code
// read. Changes are announced on `events` (an EventEmitter): 'event' carries a timeline entry (also
// kept in a ring buffer for GET /v1/events and streamed on GET /v1/events/stream), 'shard' and
// 'repository' say that a shard's or the repository's state changed.
import { EventEmitter } from 'node:events';
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { Finding } from '../core/findings/finding.ts';
import type { CardinalityFlag } from '../core/protocol/cardinality-flag.ts';
import type { CompiledRepository, CompiledShard } from '../schemas/model.ts';
import type { CommitInfo } from './git-follower.ts';
import type { QuarantinedFile } from './quarantine.ts';
import type { AgentRecord, AgentRegistry } from './agent-registry.ts';
import { GenerationClock } from './generation-clock.ts';
import { RevisionLives } from './revision-life.ts';

export interface RevisionRef extends CommitInfo {
  /** When the controller first saw this commit (webhook or poll), ms since the epoch: the latency clock starts here. */
  receivedAt: number;
  /** The generation its documents were issued with, once adopted. */
  generation?: number;
}

export interface RepositoryState {
  repo: string;
  branch: string;
  subdir: string;
  head: RevisionRef | null;
  lastGood: RevisionRef | null;
  /** null before the first compilation. */
  valid: boolean | null;
  /** Findings of the head commit (empty when valid and clean). */
  findings: Finding[];
  lastSyncAt: number | null;
  lastSyncError: string | null;
  /**
   * Team files of the head with error findings, served at their last good version or left out while
   * every other file's changes roll out (see quarantine.ts). Paths from the repository root.
   */
  quarantined: QuarantinedFile[];
  /** Why nothing of the head is served (shards.yaml broken, an error no quarantine resolves); null otherwise. */
  held: string | null;
  /** The compiled model of lastGood: teams, jobs, targets, budgets. */
  model: CompiledRepository | null;
}

export type RolloutStatus = 'rolling-out' | 'done' | 'failed' | 'superseded' | 'waiting-for-canary';

export interface RolloutRecord {
  revision: string;
  generation: number;
  hash: string;
  startedAt: string;
  finishedAt: string | null;
  status: RolloutStatus;
  failedReplica?: string;
  error?: string;
  /** Replicas that proved the reload, in order. */
  proven: string[];
  /**
   * Replicas passed over because their Prometheus was already down before the document reached them
   * (the agent's verdict): they prove it themselves when Prometheus returns.
   */
  skipped: { replica: string; reason: string }[];
  /** Why the rollout halted, when it did, in words (the replica's error says what happened). */
  haltReason?: string;
}

export interface ShardState {
  name: string;
  /** The newest valid rendering of this shard (changes only when its hash changes). */
  desired: DesiredDocument | null;
  desiredRef: RevisionRef | null;
  /** What the rollout worker drives replicas to; lags `desired` while a wave waits for its canary. */
  released: DesiredDocument | null;
  releasedRef: RevisionRef | null;
  /** Last document proven on at least one replica; served to replicas that must wait. */
  stable: DesiredDocument | null;
  /** The replica allowed to try `released` before it is proven anywhere. */
  trialReplica: string | null;
  compiled: CompiledShard | null;
  rollout: RolloutRecord | null;
  history: RolloutRecord[];
  /** Set while a wave holds this shard back (its canary shard failed): why, in words. */
  heldBy: string | null;
}

export type EventType =
  | 'commit-received'
  | 'repository-invalid'
  | 'repository-valid'
  | 'file-quarantined'
  | 'quarantine-cleared'
  | 'wave-started'
  | 'wave-halted'
  | 'wave-done'
  | 'rollout-started'
  | 'rollout-done'
  | 'rollout-failed'
  | 'rollout-superseded'
  | 'replica-skipped'
  | 'generation-recovered'
  | 'push'
  | 'agent-registered'
  | 'agent-unreachable'
  | 'agent-faulty'
  | 'agent-reachable'
  | 'leader-elected'
  | 'leader-stepped-down'
  | 'sync-failed'
  | 'reshard-started'
  | 'reshard-handed-over'
  | 'reshard-done'
  | 'reshard-cancelled'
  | 'reshard-overdue';

export interface ControllerEvent {
  id: number;
  at: string;
  type: EventType;
  message: string;
  shard?: string;
  replica?: string;
  revision?: string;
  result?: string;
  error?: string;
}

export interface FlagsEntry {
  shard: string;
  replica: string;
  fetchedAt: number;
  flags: CardinalityFlag[];
}

export interface UsageEntry {
  shard: string;
  replica: string;
  fetchedAt: number;
  measuredAt: string | null;
  headSeries: number | null;
  jobs: { job: string; series: number; targets: number }[];
}

/**
 * The freshest usage measurement of each shard. Replicas of a shard scrape the same targets, so the
 * freshest measurement of any replica stands for the shard.
 */
export function freshestUsageByShard(state: { usage: Map<string, UsageEntry> }): Map<string, UsageEntry> {
  const freshest = new Map<string, UsageEntry>();
  for (const u of state.usage.values()) {
    if (!u.measuredAt) continue;
    const cur = freshest.get(u.shard);
    if (!cur || (cur.measuredAt ?? '') < u.measuredAt) freshest.set(u.shard, u);
  }
  return freshest;
}

export function seriesOfUsage(u: UsageEntry): number {
  return u.jobs.reduce((n, j) => n + j.series, 0);
}

/** Live series per shard and per job (GET /v1/series, plan --controller). */
export function seriesUsage(state: { usage: Map<string, UsageEntry> }) {
  const shards: Record<string, number> = {};
  const jobs: { shard: string; job: string; series: number; targets: number }[] = [];
  for (const [shard, u] of [...freshestUsageByShard(state)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    shards[shard] = seriesOfUsage(u);
    for (const j of u.jobs) jobs.push({ shard, ...j });
  }
  return { shards, jobs };
}

export class ControllerState {
  readonly events = new EventEmitter();
  readonly repository: RepositoryState;
  readonly shards = new Map<string, ShardState>();
  /** Flags per agent key (`shard/replica`), refreshed by the reconcile loop. */
  readonly flags = new Map<string, FlagsEntry>();
  /** Series usage per agent key, from the agents' last cardinality cycle (refreshed every ~30 s). */
  readonly usage = new Map<string, UsageEntry>();
  /** Each recent revision's life, from commit to its new targets' first scrapes (revision-life.ts). */
  readonly revisions = new RevisionLives();
  /** Orders documents for the agents; see generation-clock.ts. */
  readonly generation: GenerationClock;
  private readonly timeline: ControllerEvent[] = [];
  private nextEventId = 1;
  private readonly timelineSize: number;

  constructor(
    readonly agents: AgentRegistry,
    repo: { repo: string; branch: string },
    opts: { timelineSize?: number; generationFile?: string } = {},
  ) {
    this.events.setMaxListeners(0);
    this.timelineSize = opts.timelineSize ?? 500;
    this.generation = new GenerationClock(opts.generationFile ?? null);
    this.repository = { repo: repo.repo, branch: repo.branch, subdir: '', head: null, lastGood: null, valid: null, findings: [], lastSyncAt: null, lastSyncError: null, model: null, quarantined: [], held: null };
    agents.onStatus = (rec, firstContact) => this.observeAgentGeneration(rec, firstContact);
  }

  /**
   * What an agent runs bounds the generations this controller may issue. A controller restarted with
   * an empty state directory learns the fleet's generation here; documents it stamped before it knew
   * are stamped again, above it, before they are pushed.
   */
  private observeAgentGeneration(rec: AgentRecord, firstContact: boolean): void {
    const generation = rec.applied?.generation;
    if (generation === undefined || !this.generation.observe(generation, firstContact)) return;
    const floor = this.generation.floor;
    let restampedShards = 0;
    for (const s of this.shards.values()) {
      if (![s.stable, s.released, s.desired].some((d) => d && d.generation <= floor)) continue;
      // In this order, so that stable < released < desired still holds: a replica that pulled the
      // stable document must not refuse the released one.
      const restamped = new Map<DesiredDocument, DesiredDocument>();
      const fresh = (d: DesiredDocument | null) => {
        if (!d) return d;
        if (!restamped.has(d)) restamped.set(d, { ...d, generation: this.generation.next() });
        return restamped.get(d)!;
      };
      s.stable = fresh(s.stable);
      s.released = fresh(s.released);
      s.desired = fresh(s.desired);
      // Refusals of the old stamp as "older than what runs" are answered by the new one.
      for (const a of this.agents.replicasOf(s.name)) if (a.failure?.result === 'stale') a.failure = null;
      restampedShards++;
      this.shardChanged(s.name);
    }
    if (restampedShards > 0) this.record({ type: 'generation-recovered', shard: rec.shard, replica: rec.replica, message: `agent ${rec.key} runs generation ${generation}; the documents of ${restampedShards} shard(s) are issued again above it (now ${this.generation.current})` });
  }

  shard(name: string): ShardState {
    let s = this.shards.get(name);
    if (!s) {
      s = { name, desired: null, desiredRef: null, released: null, releasedRef: null, stable: null, trialReplica: null, compiled: null, rollout: null, history: [], heldBy: null };
      this.shards.set(name, s);
    }
    return s;
  }

  record(e: Omit<ControllerEvent, 'id' | 'at'>): ControllerEvent {
    const event: ControllerEvent = { id: this.nextEventId++, at: new Date().toISOString(), ...e };
    this.timeline.push(event);
    if (this.timeline.length > this.timelineSize) this.timeline.splice(0, this.timeline.length - this.timelineSize);
    this.events.emit('event', event);
    return event;
  }

  /** Most recent first; `since` returns only events with a larger id. */
  recentEvents(limit = 100, since = 0): ControllerEvent[] {
    const out: ControllerEvent[] = [];
    for (let i = this.timeline.length - 1; i >= 0 && out.length < limit; i--) {
      if (this.timeline[i].id <= since) break;
      out.push(this.timeline[i]);
    }
    return out;
  }

  shardChanged(name: string): void {
    this.events.emit('shard', name);
  }

  repositoryChanged(): void {
    this.events.emit('repository');
  }

  allFlags(): CardinalityFlag[] {
    const seen = new Map<string, CardinalityFlag>();
    for (const entry of this.flags.values()) for (const f of entry.flags) if (!seen.has(f.id)) seen.set(f.id, f);
    return [...seen.values()];
  }
}
