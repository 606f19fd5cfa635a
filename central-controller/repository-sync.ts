// Fetch → compile → desired, single-flight: triggers while a sync runs coalesce into one more sync,
// and the earliest trigger time of the batch is kept as the commit's "received" time (the start of
// the commit-to-applied clock). An invalid head changes nothing that agents see: the last good
// revision stays desired and the findings are published.
import type { Logger } from '../core/log/logger.ts';
import type { ControllerState, RevisionRef } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { GitFollower } from './git-follower.ts';
import { RevisionCompiler, type CompiledRevision } from './revision-compiler.ts';
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { CompiledRepository } from '../schemas/model.ts';
import { rolloutUnits } from '../core/placement/split-model.ts';
import type { ReshardCoordinator } from './resharding/reshard-coordinator.ts';

/** How far back a controller that starts on an invalid head looks for the last valid commit. */
const MAX_ANCESTORS_SEARCHED = 100;

export interface RepositorySyncOptions {
  git: GitFollower;
  state: ControllerState;
  metrics: ControllerMetrics;
  log: Logger;
  subdir?: string;
  /** Called after any shard's desired document changed. */
  onDesiredChanged(): void;
  /** Swaps the units of shards being resharded for their overlap or retiring units (resharding/). */
  reshards?: ReshardCoordinator;
}

export class RepositorySync {
  private running: Promise<void> | null = null;
  private again = false;
  private pendingSince: number | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private lastCompiled: string | null = null;
  /** The last adopted revision, adopted again when a reshard moves to its next phase. */
  private lastAdopted: { ref: RevisionRef; documents: Map<string, DesiredDocument>; model: CompiledRepository } | null = null;

  private readonly compiler: RevisionCompiler;

  constructor(private readonly o: RepositorySyncOptions) {
    this.compiler = new RevisionCompiler(o.git, o.subdir);
  }

  /** Fetches now (or right after the sync in progress); resolves when a sync that started after this call ends. */
  trigger(reason: string, receivedAt = Date.now()): Promise<void> {
    this.pendingSince = this.pendingSince === null ? receivedAt : Math.min(this.pendingSince, receivedAt);
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.o.log.debug('sync requested', { reason });
    if (this.running) this.again = true;
    else this.start();
    return p;
  }

  private start(): void {
    this.running = this.loop().finally(() => {
      this.running = null;
      // A trigger that lands after the loop's last `again` check but before this callback would
      // otherwise wait for a sync that never starts (it deadlocked the controller's start-up).
      if (this.waiters.length > 0) this.start();
    });
  }

  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const since = this.pendingSince ?? Date.now();
      this.pendingSince = null;
      const waiters = this.waiters;
      this.waiters = [];
      try {
        await this.syncOnce(since);
        waiters.forEach((w) => w.resolve());
      } catch (err) {
        const message = (err as Error).message;
        this.o.state.repository.lastSyncError = message;
        this.o.state.record({ type: 'sync-failed', message: `fetching or compiling the repository failed: ${message}`, error: message });
        this.o.log.error('sync failed', { error: message });
        waiters.forEach((w) => w.reject(err as Error));
      }
    } while (this.again);
  }

  private async syncOnce(receivedAt: number): Promise<void> {
    const repo = this.o.state.repository;
    const sha = await this.o.git.fetch();
    repo.lastSyncAt = Date.now();
    repo.lastSyncError = null;
    this.o.metrics.lastSync.set(repo.lastSyncAt / 1000);
    if (sha === this.lastCompiled) return;
    const commit = await this.o.git.commit(sha);
    const ref: RevisionRef = { ...commit, receivedAt };
    this.o.state.record({ type: 'commit-received', revision: sha, message: `commit ${sha.slice(0, 12)} received: ${commit.message}` });
    const compiled = await this.compiler.compile(commit);
    // Asked before the state changes below: with an await between them, a reader could see the new
    // head without its adoption (rollout.test.ts read /v1/repository in that gap: lastGood still old).
    const lastGoodSha = repo.lastGood?.sha;
    const rewritten = compiled.valid && lastGoodSha !== undefined && !(await this.o.git.isAncestor(lastGoodSha, sha));
    this.lastCompiled = sha;
    repo.head = ref;
    repo.subdir = compiled.subdir;
    repo.findings = compiled.findings;
    repo.valid = compiled.headValid;
    repo.held = compiled.stopReason;
    this.o.metrics.repositoryValid.set(compiled.headValid ? 1 : 0);
    this.publishQuarantine(sha, compiled);
    if (!compiled.valid || !compiled.documents || !compiled.model) {
      const errors = compiled.findings.filter((f) => f.severity === 'error');
      this.o.state.record({
        type: 'repository-invalid',
        revision: sha,
        message: `commit ${sha.slice(0, 12)} is invalid (${errors.length} errors); keeping ${repo.lastGood?.sha.slice(0, 12) ?? 'nothing'}: ${compiled.stopReason ?? errors
          .slice(0, 3)
          .map((f) => `${f.file}:${f.start.line}:${f.start.column} ${f.message}`)
          .join('; ')}`,
      });
      this.o.log.warn('head commit is invalid; nothing rolled out', { revision: sha, errors: errors.length });
      // The newest valid commit may lie under the invalid head: a controller that (re)starts on an
      // invalid head has no last good revision in memory, and a valid commit followed quickly by an
      // invalid one is never the head when a fetch happens. Serve it, so no valid update is lost.
      await this.adoptNewestValidAncestor(sha, receivedAt);
      this.o.state.repositoryChanged();
      return;
    }
    // A rewritten branch (a force-pushed revert) needs nothing special: its documents get a new, higher
    // generation like any commit's. Said in the timeline, because the operator should know.
    this.compiler.adopted(compiled);
    this.adopt(ref, compiled.documents, compiled.model, { rewritten });
  }

  /**
   * Walks the first-parent history back from an invalid head, down to the last good revision, and
   * serves the newest valid commit found there (if it is newer than the last good one).
   */
  private async adoptNewestValidAncestor(head: string, receivedAt: number): Promise<void> {
    const lastGood = this.o.state.repository.lastGood;
    for (const sha of await this.o.git.ancestors(head, MAX_ANCESTORS_SEARCHED)) {
      if (sha === lastGood?.sha) return;
      const commit = await this.o.git.commit(sha);
      // Older than the last good revision (behind it on the branch): nothing newer lies further down.
      if (lastGood && (await this.o.git.isAncestor(sha, lastGood.sha))) return;
      const compiled = await this.compiler.compile(commit);
      if (compiled.valid && compiled.documents && compiled.model) {
        this.compiler.adopted(compiled);
        this.o.log.warn('head is invalid; serving the newest valid ancestor', { head, revision: sha });
        this.adopt({ ...commit, receivedAt }, compiled.documents, compiled.model, { keepHead: true });
        return;
      }
    }
    if (!lastGood) this.o.log.warn(`no valid commit among the ${MAX_ANCESTORS_SEARCHED} before the invalid head; nothing to serve`, { head });
  }

  /** Publishes the head's quarantined files: state, gauge by team, and a timeline entry per file that enters or leaves. */
  private publishQuarantine(sha: string, compiled: CompiledRevision): void {
    const repo = this.o.state.repository;
    const before = new Set(repo.quarantined.map((q) => q.file));
    repo.quarantined = compiled.quarantined;
    const now = new Set(compiled.quarantined.map((q) => q.file));
    this.o.metrics.quarantinedFiles.reset();
    for (const q of compiled.quarantined) this.o.metrics.quarantinedFiles.inc({ team: q.team ?? '' });
    for (const q of compiled.quarantined) {
      if (before.has(q.file)) continue;
      const first = q.findings[0];
      const served = q.kept ? `its version from ${q.kept.revision.slice(0, 12)} stays` : 'it is left out (it never had a good version)';
      const message = `${q.file} is quarantined at ${sha.slice(0, 12)}: ${served}${compiled.valid ? '; every other change rolls out' : ''}. ${first ? `${first.file}:${first.start.line}:${first.start.column} ${first.message}` : ''}`;
      this.o.state.record({ type: 'file-quarantined', revision: sha, message });
      this.o.log.warn('team file quarantined', { file: q.file, team: q.team, revision: sha, kept: q.kept?.revision ?? null, errors: q.findings.length });
    }
    for (const file of before) {
      if (!now.has(file)) this.o.state.record({ type: 'quarantine-cleared', revision: sha, message: `${file} is no longer quarantined at ${sha.slice(0, 12)}: its current version rolls out` });
    }
  }

  /** Adopts the last good revision again: a reshard's phase changed, so some of its documents did. */
  readopt(): void {
    if (!this.lastAdopted) return;
    const { ref, documents, model } = this.lastAdopted;
    this.adopt(ref, documents, model, { keepHead: true });
  }

  /** Makes `ref` the last good revision and its documents the desired ones. */
  private adopt(ref: RevisionRef, documents: Map<string, DesiredDocument>, model: CompiledRepository, opts: { keepHead?: boolean; rewritten?: boolean } = {}): void {
    this.lastAdopted = { ref, documents, model };
    const units = this.o.reshards ? this.o.reshards.unitsOf(model, documents, ref) : { units: rolloutUnits(model), documents };
    const compiled = { documents: units.documents, model };
    const repo = this.o.state.repository;
    const sha = ref.sha;
    if (opts.rewritten) this.o.log.warn('the branch was rewritten (force push): the new head is not a descendant of the last good revision; it rolls out under a new generation like any commit', { revision: sha, previous: repo.lastGood?.sha });
    repo.lastGood = ref;
    repo.model = compiled.model;
    // One generation per adopted revision, issued only when a shard's document changes.
    let generation: number | undefined;
    let changed = 0;
    const seen = new Set<string>();
    // Rollout units: a split shard's splits each have their own document, replicas and rollout (and
    // while a shard is resharded, the units of both layouts).
    for (const shardModel of units.units) {
      seen.add(shardModel.name);
      const s = this.o.state.shard(shardModel.name);
      s.compiled = shardModel;
      const doc = compiled.documents.get(shardModel.name)!;
      if (s.desired?.hash !== doc.hash) {
        s.desired = { ...doc, generation: (generation ??= this.o.state.generation.next()) };
        s.desiredRef = ref;
        changed++;
      }
    }
    for (const s of this.o.state.shards.values()) {
      if (!seen.has(s.name) && s.desired) {
        // Removed from shards.yaml: stop driving it; its agents keep what they run.
        s.desired = s.released = s.stable = null;
        s.desiredRef = s.releasedRef = null;
        s.compiled = null;
      }
    }
    ref.generation = generation ?? this.o.state.generation.current;
    this.o.metrics.desiredGeneration.set(ref.generation);
    const rewritten = opts.rewritten ? ` (the branch was rewritten: ${sha.slice(0, 12)} does not descend from the last good revision; it rolls out like any commit)` : '';
    if (!opts.keepHead) this.o.state.record({ type: 'repository-valid', revision: sha, message: `commit ${sha.slice(0, 12)} is valid; ${changed} shard(s) changed${changed > 0 ? `, generation ${ref.generation}` : ''}${rewritten}` });
    this.o.log.info('revision compiled', { revision: sha, generation: ref.generation, changedShards: changed, findings: repo.findings.length });
    this.o.state.repositoryChanged();
    if (changed > 0) this.o.onDesiredChanged();
  }
}
