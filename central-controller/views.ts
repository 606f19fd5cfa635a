// JSON views of the controller's state, shared by the API and the dashboard.
import { freshestUsageByShard, seriesOfUsage, type UsageEntry } from './controller-state.ts';
import type { CardinalityFlag } from '../core/protocol/cardinality-flag.ts';
import type { CompiledJob } from '../schemas/model.ts';
import { faultOf, type AgentRecord } from './agent-registry.ts';
import type { ControllerState, RevisionRef, ShardState } from './controller-state.ts';
import { replicaStatus, shardInSync, shardLagSeconds } from './replica-status.ts';

const revisionView = (r: RevisionRef | null) =>
  r ? { sha: r.sha, generation: r.generation ?? null, committedAt: r.committedAt, receivedAt: new Date(r.receivedAt).toISOString(), message: r.message, author: r.author } : null;

export function repositoryView(state: ControllerState) {
  const r = state.repository;
  return {
    repo: r.repo,
    branch: r.branch,
    subdir: r.subdir,
    head: revisionView(r.head),
    lastGood: revisionView(r.lastGood),
    valid: r.valid,
    findings: r.findings.map((f) => ({ ...f, location: `${f.file}:${f.start.line}:${f.start.column}` })),
    quarantined: quarantineView(state),
    held: r.held,
    lastSyncAt: r.lastSyncAt ? new Date(r.lastSyncAt).toISOString() : null,
    lastSyncError: r.lastSyncError,
  };
}

/** Quarantined files (optionally of one team), each with its findings located and what is served instead. */
export function quarantineView(state: ControllerState, team?: string) {
  return state.repository.quarantined
    .filter((q) => team === undefined || q.team === team)
    .map((q) => ({
      file: q.file,
      team: q.team,
      served: q.kept ? `last good version from commit ${q.kept.revision.slice(0, 12)}` : 'left out (it never had a good version)',
      kept: q.kept,
      findings: q.findings.map((f) => ({ ...f, location: `${f.file}:${f.start.line}:${f.start.column}` })),
    }));
}

export function replicaView(shard: ShardState | undefined, a: AgentRecord, now = Date.now()) {
  const { state, reason } = replicaStatus(shard, a);
  const lag = state === 'in-sync' || !shard?.desiredRef ? 0 : Math.max(0, (now - shard.desiredRef.receivedAt) / 1000);
  return {
    replica: a.replica,
    url: a.url,
    static: a.static,
    state,
    ...(reason ? { reason } : {}),
    applied: a.applied,
    ...(state === 'failed' && a.failure ? { error: a.failure.error, failure: { ...a.failure, retryAt: new Date(a.failure.retryAt).toISOString() } } : {}),
    lastPush: a.lastPush,
    lastReportAt: a.lastReportAt ? new Date(a.lastReportAt).toISOString() : null,
    lastContactAt: a.lastContactAt ? new Date(a.lastContactAt).toISOString() : null,
    lastError: a.lastError,
    /** Set while the agent's answers (or reports) do not fit the protocol: nothing of them is used. */
    faulty: faultOf(a),
    prometheusReachable: a.status?.prometheusReachable ?? null,
    prometheusDownSince: a.status?.prometheusDownSince ?? a.prometheusDown?.since ?? null,
    flagCount: a.status?.flagCount ?? 0,
    lagSeconds: Math.round(lag * 1000) / 1000,
  };
}

function targetCount(jobs: readonly CompiledJob[]): number {
  return jobs.reduce((n, j) => n + j.targets.length, 0);
}

export function shardSummary(state: ControllerState, s: ShardState, now = Date.now(), usage: Map<string, UsageEntry> = freshestUsageByShard(state)) {
  const replicas = state.agents.replicasOf(s.name);
  return {
    name: s.name,
    desired: s.desired ? { revision: s.desired.revision, generation: s.desired.generation, hash: s.desired.hash, committedAt: s.desired.committedAt } : null,
    released: s.released ? { revision: s.released.revision, generation: s.released.generation, hash: s.released.hash } : null,
    heldBy: s.heldBy,
    /** Set for a split of a split shard (document `<shard>.s<i>`): which shard, which split of how many, hashed on which label. */
    split: s.desired?.split ?? null,
    budget: s.compiled?.budget ?? null,
    targetCount: s.compiled ? targetCount(s.compiled.jobs) : 0,
    jobCount: s.compiled?.jobs.length ?? 0,
    replicasDeclared: s.compiled?.replicas ?? null,
    inSync: shardInSync(s, replicas),
    lagSeconds: Math.round(shardLagSeconds(s, replicas, now) * 1000) / 1000,
    rollout: s.rollout,
    replicas: replicas.map((a) => replicaView(s, a, now)),
    flagCount: state.allFlags().filter((f) => f.shard === s.name).length,
    /** Live series of the shard (freshest replica measurement), null until an agent has measured. */
    series: usage.has(s.name) ? seriesOfUsage(usage.get(s.name)!) : null,
  };
}

export function shardsView(state: ControllerState) {
  const names = new Set([...state.shards.keys(), ...state.agents.shardsWithAgents()]);
  const now = Date.now();
  const usage = freshestUsageByShard(state);
  return [...names].sort().map((n) => shardSummary(state, state.shard(n), now, usage));
}

export function shardDetailView(state: ControllerState, s: ShardState) {
  return {
    ...shardSummary(state, s),
    history: s.history,
    jobs: (s.compiled?.jobs ?? []).map((j) => ({ name: j.name, team: j.team, file: `${state.repository.subdir ? state.repository.subdir + '/' : ''}${j.source.file}`, line: j.source.line, targets: j.targets.length, interval: j.spec.interval })),
  };
}

function allJobs(state: ControllerState): CompiledJob[] {
  return state.repository.model?.shards.flatMap((s) => s.jobs) ?? [];
}

export function teamsView(state: ControllerState) {
  const teams = new Map<string, { team: string; jobs: number; targets: number; shards: Set<string>; files: Set<string>; flags: number }>();
  for (const j of allJobs(state)) {
    const t = teams.get(j.team) ?? { team: j.team, jobs: 0, targets: 0, shards: new Set(), files: new Set(), flags: 0 };
    t.jobs++;
    t.targets += j.targets.length;
    t.shards.add(j.shard);
    t.files.add(j.source.file);
    teams.set(j.team, t);
  }
  for (const f of state.allFlags()) {
    const t = teams.get(f.team) ?? { team: f.team, jobs: 0, targets: 0, shards: new Set([f.shard]), files: new Set(), flags: 0 };
    t.flags++;
    teams.set(f.team, t);
  }
  return [...teams.values()].sort((a, b) => (a.team < b.team ? -1 : 1)).map((t) => ({ team: t.team, jobs: t.jobs, targets: t.targets, shards: [...t.shards].sort(), files: [...t.files].sort(), flags: t.flags }));
}

export function teamView(state: ControllerState, team: string) {
  const jobs = allJobs(state).filter((j) => j.team === team);
  const flags = filterFlags(state.allFlags(), { team });
  if (jobs.length === 0 && flags.length === 0) return null;
  const prefix = state.repository.subdir ? state.repository.subdir + '/' : '';
  return {
    team,
    shards: [...new Set(jobs.map((j) => j.shard))].sort(),
    jobs: jobs.map((j) => ({ name: j.name, shard: j.shard, file: prefix + j.source.file, line: j.source.line, targets: j.targets.map((t) => t.address) })),
    targets: jobs.reduce((n, j) => n + j.targets.length, 0),
    flags,
  };
}

export function filterFlags(flags: CardinalityFlag[], q: { team?: string; shard?: string }): CardinalityFlag[] {
  return flags.filter((f) => (!q.team || f.team === q.team) && (!q.shard || f.shard === q.shard)).sort((a, b) => (a.id < b.id ? -1 : 1));
}

export function agentsView(state: ControllerState) {
  return state.agents.all().map((a) => ({ shard: a.shard, ...replicaView(state.shards.get(a.shard), a) }));
}
