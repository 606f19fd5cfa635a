// The agents the controller knows: registered over the API, listed in --agents-file, or remembered
// from a previous run (persisted in the state directory). An agent that stops answering is marked
// unreachable, never forgotten.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentStatus, ApplyResult } from '../core/protocol/agent-api.ts';
import type { AgentEndpoint } from './agent-client.ts';
import { validateProtocol } from '../core/protocol/protocol-validator.ts';

export interface AppliedRef {
  revision: string;
  generation: number;
  hash: string;
  verified: boolean;
}

export interface PushRecord {
  at: string;
  revision: string;
  hash: string;
  /** An ApplyResult, or `error` when the agent could not be reached / answered nonsense. */
  result: ApplyResult | 'error';
  error?: string;
  durationMs: number;
  attempts: number;
}

export interface ReplicaFailure {
  hash: string;
  revision: string;
  attempts: number;
  /** ms since epoch: the failed replica is retried after this. */
  retryAt: number;
  error: string;
  result: string;
}

export interface AgentRecord {
  key: string;
  shard: string;
  replica: string;
  url: string;
  /** From --agents-file. */
  static: boolean;
  registeredAt: string | null;
  lastReportAt: number | null;
  /** Last successful contact of any kind (report, status poll, push answer), ms since epoch. */
  lastContactAt: number | null;
  /** null = not known yet. */
  reachable: boolean | null;
  lastError: string | null;
  status: AgentStatus | null;
  applied: AppliedRef | null;
  lastPush: PushRecord | null;
  failure: ReplicaFailure | null;
  pushing: boolean;
  /** When a push last ended proven (ms since epoch): guards against a report queued before that push. */
  provenByPushAt: number | null;
  /** The highest leader term the agent is known to have seen (status or push answer); absent outside Kubernetes. */
  term?: number;
  /**
   * Answers (or bodies) of this agent that did not fit the protocol, by endpoint, while they last: the
   * agent is faulty while any is set, and a correct answer on the same endpoint clears it. Not persisted.
   */
  faults?: Partial<Record<AgentEndpoint, AgentFault>>;
  /**
   * Set when the agent answered that its Prometheus was already down before the document (see
   * PrometheusDown): the rollout passed over this replica, which proves the document itself once
   * Prometheus answers. Cleared when the agent reports Prometheus reachable.
   */
  prometheusDown: { hash: string; revision: string; since: string; reason: string } | null;
  /**
   * Set for an agent found through the Kubernetes API (central-controller/kubernetes/): the pod behind
   * it. Its address comes from the API (trusted like --agents-file: a registration does not move it),
   * and it is not persisted (the API is the record). While the pod is not Ready the agent stays known
   * but unreachable, with `notReady` as the reason.
   */
  kubernetes?: { pod: string; uid: string; ready: boolean; notReady: string | null } | null;
}

export interface AgentFault {
  reason: string;
  /** ISO 8601. */
  at: string;
}

/** The agent's most recent protocol fault (null when it answers correctly everywhere). */
export function faultOf(rec: AgentRecord): (AgentFault & { endpoint: AgentEndpoint; endpoints: AgentEndpoint[] }) | null {
  const entries = Object.entries(rec.faults ?? {}) as [AgentEndpoint, AgentFault][];
  if (entries.length === 0) return null;
  const [endpoint, latest] = entries.reduce((m, e) => (e[1].at > m[1].at ? e : m));
  return { endpoint, reason: latest.reason, at: latest.at, endpoints: entries.map(([e]) => e).sort() };
}

interface PersistedAgent {
  shard: string;
  replica: string;
  url: string;
  static: boolean;
  registeredAt: string | null;
  lastReportAt: number | null;
}

const STALE_REPORT_WINDOW_MS = 3000;

export const agentKey = (shard: string, replica: string) => `${shard}/${replica}`;

/** Replica order inside a shard: natural sort of the replica name (a < b, 1 < 2 < 10). */
export function compareReplicas(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export class AgentRegistry {
  private readonly agents = new Map<string, AgentRecord>();
  /** Sorted views, rebuilt only when an agent is added (hot path: every rollout pass and report). */
  private sortedAll: AgentRecord[] | null = null;
  private byShard: Map<string, AgentRecord[]> | null = null;
  private readonly file: string | null;
  private saveTimer: NodeJS.Timeout | null = null;
  /** Why the last background save failed (null after a good one). */
  saveError: string | null = null;
  /** Told of every status observed; `firstContact` on an agent's first status since this controller started. */
  onStatus: ((rec: AgentRecord, firstContact: boolean) => void) | null = null;

  constructor(stateDir: string | null) {
    this.file = stateDir ? join(stateDir, 'agents.json') : null;
  }

  /** Loads the persisted registry (agents known before a restart). */
  load(): number {
    if (!this.file) return 0;
    let list: PersistedAgent[];
    try {
      list = JSON.parse(readFileSync(this.file, 'utf8')).agents ?? [];
    } catch {
      return 0;
    }
    if (!Array.isArray(list)) return 0;
    for (const p of list) {
      // The file may have been written by an older version, edited by hand, or hold what a hostile agent
      // registered before names were checked: only entries that would pass registration today are kept.
      if (!validateProtocol('register', { shard: p?.shard, replica: p?.replica, url: p?.url }).ok) continue;
      if (p.registeredAt !== null && typeof p.registeredAt !== 'string') p.registeredAt = null;
      // Static-ness comes from this run's --agents-file (addStatic), not from the last run's: an agent
      // dropped from that file may register at a new address again.
      const rec = this.upsert(p.shard, p.replica, p.url, false);
      rec.registeredAt = p.registeredAt;
      rec.lastReportAt = null; // a heartbeat from before the restart says nothing about now
    }
    return this.agents.size;
  }

  private upsert(shard: string, replica: string, url: string, isStatic: boolean): AgentRecord {
    const key = agentKey(shard, replica);
    let rec = this.agents.get(key);
    if (!rec) {
      rec = { key, shard, replica, url, static: isStatic, registeredAt: null, lastReportAt: null, lastContactAt: null, reachable: null, lastError: null, status: null, applied: null, lastPush: null, failure: null, pushing: false, provenByPushAt: null, prometheusDown: null };
      this.agents.set(key, rec);
      this.sortedAll = null;
      this.byShard = null;
      this.scheduleSave();
    } else if (rec.url !== url && (isStatic || (!rec.static && !rec.kubernetes))) {
      // A static agent's address is trusted configuration: a registration or report (which anyone
      // holding that replica's credential can send) does not move it.
      rec.url = url;
      this.scheduleSave();
    }
    if (isStatic && !rec.static) {
      rec.static = true;
      this.scheduleSave();
    }
    return rec;
  }

  addStatic(shard: string, replica: string, url: string): AgentRecord {
    return this.upsert(shard, replica, url.replace(/\/+$/, ''), true);
  }

  /**
   * An agent of a Pod found through the Kubernetes API. `renewed` when the record now stands for another
   * process than before (new, at a new address, or another pod): what was known of the old one is
   * forgotten so the new one is asked, and pushed to, afresh. A static agent of the same replica wins.
   */
  setDiscovered(shard: string, replica: string, url: string, kube: NonNullable<AgentRecord['kubernetes']>): { record: AgentRecord; renewed: boolean } {
    const before = this.agents.get(agentKey(shard, replica));
    if (before?.static) return { record: before, renewed: false };
    const record = before ?? this.upsert(shard, replica, url, false);
    const renewed = !before || before.url !== url || before.kubernetes?.uid !== kube.uid;
    if (renewed && before) {
      Object.assign(before, { url, status: null, applied: null, failure: null, lastReportAt: null, lastContactAt: null, reachable: null, lastError: null, provenByPushAt: null, prometheusDown: null });
    }
    record.kubernetes = kube;
    return { record, renewed };
  }

  /** Forgets an agent (its pod was deleted). */
  remove(shard: string, replica: string): void {
    if (!this.agents.delete(agentKey(shard, replica))) return;
    this.sortedAll = null;
    this.byShard = null;
    this.scheduleSave();
  }

  /** Registration over the API. Returns the record and whether it was new. */
  register(shard: string, replica: string, url: string): { record: AgentRecord; isNew: boolean } {
    const isNew = !this.agents.has(agentKey(shard, replica));
    const record = this.upsert(shard, replica, url.replace(/\/+$/, ''), false);
    record.registeredAt = new Date().toISOString();
    this.scheduleSave();
    return { record, isNew };
  }

  /** A status from the agent itself (report/heartbeat or a GET /v1/status poll). */
  observeStatus(rec: AgentRecord, status: AgentStatus, via: 'report' | 'poll'): void {
    const now = Date.now();
    const firstContact = rec.status === null;
    rec.status = status;
    // The agent's own word: a pod that lost its state directory must be fenced again.
    if (status.term !== undefined) rec.term = status.term;
    if (via === 'report') rec.lastReportAt = now;
    rec.lastContactAt = now;
    rec.reachable = true;
    rec.lastError = null;
    // Kubernetes says the pod is not Ready: the agent answering does not make it a replica to push to.
    if (rec.kubernetes && !rec.kubernetes.ready) {
      rec.reachable = false;
      rec.lastError = `Kubernetes: ${rec.kubernetes.notReady}`;
    }
    const reported = status.applied ? { revision: status.applied.revision, generation: status.applied.generation, hash: status.applied.hash, verified: status.applied.verified } : null;
    // A report queued by the agent before our push finished can arrive after its answer: do not let
    // it turn a freshly proven replica back into a stale one (the next heartbeat is authoritative).
    const staleReport = via === 'report' && rec.applied && rec.provenByPushAt !== null && now - rec.provenByPushAt < STALE_REPORT_WINDOW_MS && (reported?.generation ?? -1) < rec.applied.generation;
    if (!staleReport) rec.applied = reported;
    // It took the document after all (its own pull, or a retry): the failure is over.
    if (rec.failure && rec.applied?.verified && rec.applied.hash === rec.failure.hash) rec.failure = null;
    if (status.prometheusReachable) rec.prometheusDown = null;
    this.onStatus?.(rec, firstContact);
  }

  get(shard: string, replica: string): AgentRecord | undefined {
    return this.agents.get(agentKey(shard, replica));
  }

  all(): readonly AgentRecord[] {
    return (this.sortedAll ??= [...this.agents.values()].sort((a, b) => (a.shard !== b.shard ? (a.shard < b.shard ? -1 : 1) : compareReplicas(a.replica, b.replica))));
  }

  /** The shard's replicas in rollout order. */
  replicasOf(shard: string): readonly AgentRecord[] {
    if (!this.byShard) {
      this.byShard = new Map();
      for (const a of this.all()) {
        const list = this.byShard.get(a.shard) ?? [];
        list.push(a);
        this.byShard.set(a.shard, list);
      }
    }
    return this.byShard.get(shard) ?? [];
  }

  shardsWithAgents(): string[] {
    return [...new Set(this.all().map((a) => a.shard))];
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      // A timer's throw is uncaught and ends the process: a full disk must cost the file, not the controller.
      try {
        this.saveNow();
      } catch (err) {
        this.saveError = (err as Error).message;
      }
    }, 200);
    this.saveTimer.unref();
  }

  saveNow(): void {
    if (!this.file) return;
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const agents: PersistedAgent[] = this.all().filter((a) => !a.kubernetes).map((a) => ({ shard: a.shard, replica: a.replica, url: a.url, static: a.static, registeredAt: a.registeredAt, lastReportAt: a.lastReportAt }));
    mkdirSync(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ version: 1, agents }, null, 2));
    renameSync(tmp, this.file);
    this.saveError = null;
  }
}
