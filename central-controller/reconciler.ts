// The repair path, every --reconcile interval: mark agents that stopped heartbeating unreachable,
// ask silent agents (static ones, or ones that stopped reporting) for their status, kick the rollout
// worker of every shard whose replicas do not run their released document, gather cardinality flags,
// and refresh the gauges. Level-triggered: it needs no memory of what happened before.
import type { Logger } from '../core/log/logger.ts';
import { AgentProtocolError, type AgentClient } from './agent-client.ts';
import type { AgentFaults } from './agent-faults.ts';
import type { AgentRecord, AgentRegistry } from './agent-registry.ts';
import type { ControllerState } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import { REPLICA_STATES, replicaState, runsHash, shardInSync, shardLagSeconds } from './replica-status.ts';
import { mapBounded } from './semaphore.ts';
import type { ShardWorker } from './shard-worker.ts';
import type { Leadership } from './kubernetes/leadership.ts';


const USAGE_REFRESH_MS = 30_000;
const USAGE_RETRY_UNMEASURED_MS = 5_000;
export interface ReconcilerOptions {
  state: ControllerState;
  registry: AgentRegistry;
  client: AgentClient;
  faults: AgentFaults;
  metrics: ControllerMetrics;
  log: Logger;
  workerFor(shard: string): ShardWorker;
  /** An agent silent for this long is unreachable (3 × the agents' heartbeat by default). */
  heartbeatTimeoutMs: number;
  statusTimeoutMs: number;
  /** How often measured series usage is re-read from each agent (default 30 s). */
  usageRefreshMs?: number;
  concurrency: number;
  /** Followers poll and show status but repair nothing: only the leader's workers are kicked. */
  leadership: Leadership;
}

export class Reconciler {
  private running: Promise<void> | null = null;

  constructor(private readonly o: ReconcilerOptions) {}

  /** One reconcile round; overlapping calls share the round in progress. */
  tick(): Promise<void> {
    return (this.running ??= this.round().finally(() => (this.running = null)));
  }

  private async round(): Promise<void> {
    const now = Date.now();
    const agents = this.o.registry.all();
    const silent = agents.filter((a) => a.lastReportAt === null || now - a.lastReportAt > this.o.heartbeatTimeoutMs);
    await mapBounded(silent, this.o.concurrency, (a) => this.pollStatus(a));
    for (const a of agents) {
      const quiet = a.lastContactAt === null ? false : Date.now() - a.lastContactAt > this.o.heartbeatTimeoutMs;
      if (quiet && a.reachable !== false) this.markUnreachable(a, `no heartbeat for ${Math.round((Date.now() - a.lastContactAt!) / 1000)} s`);
    }
    const leading = this.o.leadership.isLeader();
    const term = this.o.leadership.term();
    for (const s of this.o.state.shards.values()) {
      if (!s.released || !leading) continue;
      const replicas = this.o.registry.replicasOf(s.name);
      const behind = replicas.some((r) => r.reachable !== false && (!runsHash(r, s.released!.hash) || (r.term ?? 0) < term));
      // Replicas can converge without a push (an agent proving its files once its Prometheus returns,
      // or pulling): the worker's next pass is what records such a rollout done, so an open record counts too.
      const open = s.rollout?.hash === s.released.hash && s.rollout.status !== 'done' && s.rollout.status !== 'superseded';
      if (behind || open) this.o.workerFor(s.name).kick();
    }
    await this.gatherFlags(agents.filter((a) => a.reachable !== false));
    await this.gatherUsage(agents.filter((a) => a.reachable !== false));
    this.refreshGauges();
  }

  async pollStatus(a: AgentRecord): Promise<void> {
    try {
      const status = await this.o.client.status(a, this.o.statusTimeoutMs);
      const wasUnreachable = a.reachable === false;
      const before = a.applied?.hash;
      this.o.faults.ok(a, 'status');
      this.o.registry.observeStatus(a, status, 'poll');
      // Still unreachable after answering: Kubernetes says its pod is not Ready (AgentRegistry.observeStatus).
      if (wasUnreachable && a.reachable !== false) this.o.state.record({ type: 'agent-reachable', shard: a.shard, replica: a.replica, message: `agent ${a.key} answers again` });
      if (before !== a.applied?.hash) this.o.state.shardChanged(a.shard);
    } catch (err) {
      // It answered, so it is not unreachable; what it said is not used (the last good status stays).
      if (err instanceof AgentProtocolError) this.o.faults.fault(a, 'status', err.reason);
      else this.markUnreachable(a, (err as Error).message);
    }
  }

  private markUnreachable(a: AgentRecord, why: string): void {
    a.lastError = why;
    if (a.reachable === false) return;
    a.reachable = false;
    this.o.state.record({ type: 'agent-unreachable', shard: a.shard, replica: a.replica, message: `agent ${a.key} unreachable: ${why}`, error: why });
    this.o.state.shardChanged(a.shard);
  }

  /** Series usage changes once per analysis cycle (60 s by default), so it is fetched at most every 30 s. */
  private async gatherUsage(agents: AgentRecord[]): Promise<void> {
    const now = Date.now();
    const due = agents.filter((a) => {
      const u = this.o.state.usage.get(a.key);
      // Until an agent has measured once, ask again sooner so the first figures appear quickly, but
      // not every round: agents without an analyzer never measure, and 400 of them must stay cheap.
      const unmeasured = !u || !u.measuredAt || u.jobs.length === 0;
      return !u || now - u.fetchedAt >= (unmeasured ? Math.min(USAGE_RETRY_UNMEASURED_MS, this.o.usageRefreshMs ?? USAGE_REFRESH_MS) : (this.o.usageRefreshMs ?? USAGE_REFRESH_MS));
    });
    await mapBounded(due, this.o.concurrency, async (a) => {
      try {
        const u = await this.o.client.usage(a, this.o.statusTimeoutMs);
        this.o.faults.ok(a, 'usage');
        this.o.state.usage.set(a.key, { shard: a.shard, replica: a.replica, fetchedAt: now, ...u });
      } catch (err) {
        if (err instanceof AgentProtocolError) {
          this.o.faults.fault(a, 'usage', err.reason);
          this.o.state.usage.delete(a.key);
          return;
        }
        this.o.log.debug('fetching usage failed', { agent: a.key, error: (err as Error).message });
      }
    });
  }

  private async gatherFlags(agents: AgentRecord[]): Promise<void> {
    const withFlags = agents.filter((a) => (a.status?.flagCount ?? 0) > 0);
    for (const a of agents) {
      if ((a.status?.flagCount ?? 0) > 0) continue;
      this.o.state.flags.delete(a.key);
      this.o.faults.ok(a, 'flags'); // nothing to fetch: nothing wrong any more
    }
    await mapBounded(withFlags, this.o.concurrency, async (a) => {
      try {
        const flags = await this.o.client.flags(a, this.o.statusTimeoutMs);
        this.o.faults.ok(a, 'flags');
        this.o.state.flags.set(a.key, { shard: a.shard, replica: a.replica, fetchedAt: Date.now(), flags });
      } catch (err) {
        if (err instanceof AgentProtocolError) {
          this.o.faults.fault(a, 'flags', err.reason);
          this.o.state.flags.delete(a.key);
          return;
        }
        this.o.log.debug('fetching flags failed', { agent: a.key, error: (err as Error).message });
      }
    });
  }

  refreshGauges(): void {
    const m = this.o.metrics;
    const counts = Object.fromEntries(REPLICA_STATES.map((st) => [st, 0])) as Record<string, number>;
    for (const a of this.o.registry.all()) counts[replicaState(this.o.state.shards.get(a.shard), a)]++;
    for (const [state, n] of Object.entries(counts)) m.agents.set({ state }, n);
    for (const s of this.o.state.shards.values()) {
      if (!s.desired) continue;
      const replicas = this.o.registry.replicasOf(s.name);
      m.shardInSync.set({ shard: s.name }, shardInSync(s, replicas) ? 1 : 0);
      m.rolloutLag.set({ shard: s.name }, shardLagSeconds(s, replicas));
    }
    m.cardinalityFlags.reset();
    const byTeamShard = new Map<string, { team: string; shard: string; n: number }>();
    for (const f of this.o.state.allFlags()) {
      const k = `${f.team}\0${f.shard}`;
      const e = byTeamShard.get(k) ?? { team: f.team, shard: f.shard, n: 0 };
      e.n++;
      byTeamShard.set(k, e);
    }
    for (const e of byTeamShard.values()) m.cardinalityFlags.set({ team: e.team, shard: e.shard }, e.n);
  }
}
