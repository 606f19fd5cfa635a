// Fills the revision records (revision-life.ts) from what the controller already announces: the
// repository's state after each compile ('repository'), each shard's rollouts ('shard', and the
// timeline's push/rollout events). Nothing in the rollout path calls in here, so a bug in the
// bookkeeping cannot slow or stop a rollout.
//
// Which targets a revision added or changed is computed here, from the previous and the new compiled
// model of each shard: a new job or a new address is `added`; every target of a job whose settings
// changed is `changed`. Those are the targets whose health is watched (target-health-watch.ts).
import type { Finding } from '../core/findings/finding.ts';
import type { Logger } from '../core/log/logger.ts';
import type { CompiledJob, CompiledShard } from '../schemas/model.ts';
import type { AgentRegistry } from './agent-registry.ts';
import type { ControllerState, RevisionRef, RolloutRecord } from './controller-state.ts';
import { MAX_FINDINGS_KEPT, type RevisionLife, type ShardLife, type ShardOutcome, type TargetLife } from './revision-life.ts';
import { rolloutUnits } from '../core/placement/split-model.ts';
import { runsHash } from './replica-status.ts';

export interface RevisionRecorderOptions {
  state: ControllerState;
  registry: AgentRegistry;
  log: Logger;
  /** A shard of a revision has a proven replica and targets to watch. */
  watchTargets(sha: string, shard: string): void;
}

export class RevisionRecorder {
  private lastGoodSha: string | null = null;
  /** The compiled shards of the last adopted revision: the "before" of the next diff. */
  private previous: Map<string, CompiledShard> | null = null;

  constructor(private readonly o: RevisionRecorderOptions) {
    const { events } = o.state;
    events.on('repository', () => this.guard(() => this.onRepository()));
    events.on('shard', (name: string) => this.guard(() => this.onShard(name)));
    events.on('event', (e: { type: string; shard?: string }) => {
      if (e.shard && (e.type === 'push' || e.type.startsWith('rollout-'))) this.guard(() => this.onShard(e.shard!));
    });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.o.log.error('revision record update failed', { error: err });
    }
  }

  private record(ref: RevisionRef): RevisionLife {
    return this.o.state.revisions.upsert(ref.sha, () => ({
      sha: ref.sha,
      generation: ref.generation ?? null,
      message: ref.message,
      author: ref.author,
      committedAt: ref.committedAt,
      receivedAt: new Date(ref.receivedAt).toISOString(),
      compiledAt: null,
      valid: null,
      findingCount: 0,
      findings: [],
      quarantined: [],
      held: null,
      shards: {},
    }));
  }

  private onRepository(): void {
    const repo = this.o.state.repository;
    const touched = new Set<string>();
    if (repo.head) {
      const r = this.record(repo.head);
      if (r.compiledAt === null) {
        r.compiledAt = new Date().toISOString();
        r.valid = repo.valid;
        r.findingCount = repo.findings.length;
        r.findings = repo.findings.slice(0, MAX_FINDINGS_KEPT).map(located);
        r.quarantined = repo.quarantined.map((q) => ({ file: q.file, team: q.team, kept: q.kept?.revision ?? null }));
        r.held = repo.held;
        touched.add(r.sha);
      }
    }
    const good = repo.lastGood;
    if (good && good.sha !== this.lastGoodSha && repo.model) {
      const r = this.record(good);
      r.generation = good.generation ?? null;
      r.compiledAt ??= new Date().toISOString();
      if (r.valid === null) r.valid = true;
      const now = new Map(rolloutUnits(repo.model).map((s) => [s.name, s]));
      for (const [name, shard] of now) {
        const changed = this.o.state.shards.get(name)?.desiredRef?.sha === good.sha;
        // Without a "before" (the controller's first revision) nothing counts as new.
        const targets = changed && this.previous ? changedTargets(this.previous.get(name), shard) : [];
        r.shards[name] = { changed, outcome: changed ? 'pending' : 'unchanged', replicas: {}, targets, targetsSettled: targets.length === 0 };
      }
      this.previous = now;
      this.lastGoodSha = good.sha;
      touched.add(r.sha);
      for (const name of now.keys()) this.onShard(name, false);
    }
    for (const sha of touched) this.o.state.revisions.changed(sha);
  }

  private onShard(name: string, announce = true): void {
    const s = this.o.state.shards.get(name);
    if (!s) return;
    for (const rollout of s.history) {
      const r = this.o.state.revisions.get(rollout.revision);
      const life = r?.shards[name];
      if (!r || !life || !life.changed) continue;
      if (this.applyRollout(name, life, rollout) && announce) this.o.state.revisions.changed(r.sha);
    }
    // A changed shard whose wave holds it back has no rollout yet: say why it waits.
    const desired = s.desiredRef && this.o.state.revisions.get(s.desiredRef.sha)?.shards[name];
    if (desired && desired.outcome === 'pending' && s.heldBy && desired.reason !== s.heldBy) {
      desired.reason = s.heldBy;
      if (announce) this.o.state.revisions.changed(s.desiredRef!.sha);
    }
  }

  /**
   * Copies a rollout's state into the shard's life; true when anything changed. It runs for every
   * rollout in the shard's history on each push and report, so it tells a change as it writes
   * rather than by serialising the life before and after.
   */
  private applyRollout(shard: string, life: ShardLife, rollout: RolloutRecord): boolean {
    let changed = false;
    if (life.rolloutStartedAt === undefined) changed = put(life, 'rolloutStartedAt', rollout.startedAt) || changed;
    changed = put(life, 'outcome', outcomeOf(rollout, this.o.registry.get(shard, rollout.failedReplica ?? '')?.failure?.result)) || changed;
    changed = put(life, 'reason', rollout.status === 'failed' ? rollout.haltReason : undefined) || changed;
    changed = put(life, 'prometheusError', rollout.status === 'failed' ? rollout.error : undefined) || changed;
    for (const a of this.o.registry.replicasOf(shard)) {
      let rep = life.replicas[a.replica];
      if (!rep) {
        rep = life.replicas[a.replica] = { proven: false };
        changed = true;
      }
      const push = a.lastPush?.revision === rollout.revision ? a.lastPush : null;
      if (push) {
        changed = put(rep, 'result', push.result) || changed;
        changed = put(rep, 'applyMs', push.durationMs) || changed;
        changed = put(rep, 'error', push.error || undefined) || changed;
      }
      if ((runsHash(a, rollout.hash) || rollout.proven.includes(a.replica)) && !rep.proven) {
        rep.proven = true;
        rep.appliedAt = push && (push.result === 'applied' || push.result === 'unchanged') ? push.at : (a.status?.applied?.appliedAt ?? new Date().toISOString());
        changed = true;
      }
    }
    const sha = rollout.revision;
    if (!life.targetsSettled && life.targets.length > 0 && Object.values(life.replicas).some((x) => x.proven)) this.o.watchTargets(sha, shard);
    return changed;
  }
}

/** Sets (or, for undefined, deletes) `o[k]`; true when that changed it. */
function put<T extends object, K extends keyof T>(o: T, k: K, v: T[K]): boolean {
  if (v === undefined) {
    if (o[k] === undefined) return false;
    delete o[k];
    return true;
  }
  if (o[k] === v) return false;
  o[k] = v;
  return true;
}

function outcomeOf(r: RolloutRecord, failureResult: string | undefined): ShardOutcome {
  switch (r.status) {
    case 'done':
      return 'applied';
    case 'superseded':
      return 'superseded';
    case 'failed':
      return failureResult === 'rolled-back' || failureResult === 'rejected' ? 'refused' : 'halted';
    default:
      return 'rolling-out';
  }
}

function located(f: Finding) {
  return { file: f.file, line: f.start.line, column: f.start.column, severity: f.severity, rule: f.ruleId, message: f.message };
}

/** Jobs the revision added or changed on one shard, as the targets to check. */
export function changedTargets(before: CompiledShard | undefined, after: CompiledShard): TargetLife[] {
  const old = new Map((before?.jobs ?? []).map((j) => [j.name, j]));
  const out: TargetLife[] = [];
  for (const job of after.jobs) {
    const prev = old.get(job.name);
    const jobChanged = prev !== undefined && !sameJob(prev, job);
    const known = new Set(prev?.targets.map((t) => t.address) ?? []);
    for (const t of job.targets) {
      const change = !known.has(t.address) ? 'added' : jobChanged ? 'changed' : null;
      if (change) out.push({ job: job.name, address: t.address, team: job.team, change, health: 'unknown' });
    }
  }
  return out;
}

function sameJob(a: CompiledJob, b: CompiledJob): boolean {
  // Where a job is written (its source line) is not a change of the job, nor is another target joining it.
  const settings = (j: CompiledJob) => JSON.stringify({ ...j.spec, targets: undefined, target_groups: undefined });
  return settings(a) === settings(b);
}
