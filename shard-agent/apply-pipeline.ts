// The one path every configuration takes to Prometheus, whether pushed or pulled:
//   verify document → (queue: serialise, coalesce) → stale/unchanged check → promtool → snapshot the
//   previous files + journal → write atomically → reload → prove → record state; or roll back.
// It owns the agent's notion of "what is applied", and nothing else writes the config files.
import { MAIN_CONFIG_FILE, sha256Hex, type DesiredDocument, type JobOwner } from '../core/document/desired-document.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AgentStatus, ApplyRecord, ApplyResponse, ApplyResult } from '../core/protocol/agent-api.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import { ApplyQueue, SUPERSEDED } from './apply-queue.ts';
import { expectedFingerprint } from './expected-config.ts';
import { commitFileSet, discardStaged, diskMatches, identifyWritten, readIfExists, restoreSnapshot, snapshotOnDisk, stageFileSet, type StagedFileSet, type WrittenFile } from './config-files.ts';
import type { ConfigFingerprint } from './config-fingerprint.ts';
import type { ConfigLayout } from './config-paths.ts';
import { crashPoint } from './crash-hooks.ts';
import type { PrometheusClient, ReloadGauges } from './prometheus-client.ts';
import { ProcessProofs } from './process-proof.ts';
import { PromtoolRunner } from './promtool-check.ts';
import type { ReloadMethod } from './reload-prometheus.ts';
import { reconcileAtStartup, type StartupReport } from './startup-reconcile.ts';
import type { AppliedState, FileSnapshot, PersistedState, StateStore } from './state-store.ts';
import { reloadAndProve, type ReloadVerdict } from './verify-reload.ts';
import { DocumentRejected, verifyDocument, type VerifiedDocument } from './verify-document.ts';

export interface ApplyPipelineOptions {
  shard: string;
  /** This replica's name: the value Prometheus must show for the `${PROMSHARD_REPLICA}` external label (shard-agent/expected-config.ts). */
  replica?: string;
  layout: ConfigLayout;
  store: StateStore;
  prometheus: PrometheusClient;
  reloadMethod: ReloadMethod;
  /** Path to promtool, or null to skip the check. */
  promtool: string | null;
  /** promtool check config --syntax-only (referenced files need not exist); default false. */
  promtoolSyntaxOnly?: boolean;
  reloadTimeoutMs: number;
  metrics: AgentMetrics;
  log: Logger;
  /** Test-only: sleep this long inside every apply, to make applies overlap. */
  testDelayMs?: number;
  /** Test-only: called once the new files are in place, before the reload (to race the agent). */
  testAfterWrite?: () => void | Promise<void>;
  historySize?: number;
  /**
   * An outage of Prometheus that starts this soon after it was asked to load a new document is blamed
   * on that document (default 60 s): a configuration can take Prometheus down after a good reload,
   * once scraping a huge target list runs it out of memory.
   */
  outageBlameWindowMs?: number;
}

const DEFAULT_OUTAGE_BLAME_WINDOW_MS = 60_000;

/** The current outage of the local Prometheus. */
interface Outage {
  /** When the agent first found Prometheus down (ms since the epoch, this host's clock). */
  since: number;
  /** The document being loaded when it went down, or loaded shortly before; null when no apply is to blame. */
  blamed: { revision: string; hash: string } | null;
}

export interface ApplyRequest {
  document: unknown;
  force?: boolean;
  source: 'push' | 'pull';
}

export interface ApplyReply {
  httpStatus: number;
  body: ApplyResponse;
}

const HTTP_STATUS: Record<ApplyResult, number> = {
  applied: 200,
  unchanged: 200,
  superseded: 200,
  'written-unverified': 202,
  'rolled-back': 422,
  rejected: 422,
};

export type AgentStatusDetail = AgentStatus & {
  startup: StartupReport;
  /** Hash of the last document Prometheus refused (rolled back), so pulls do not retry it in a loop. */
  lastRefusedHash: string | null;
};

/** Milliseconds from the request's arrival to the end of each step, for the log and bench/agent-apply.ts. */
class StepClock {
  readonly steps: Record<string, number> = {};
  constructor(private readonly since: number) {}
  mark(step: string): void {
    this.steps[step] = Math.round(performance.now() - this.since);
  }
}

interface Job {
  verified: VerifiedDocument;
  force: boolean;
  source: 'push' | 'pull';
  receivedAt: number;
}

export class ApplyPipeline {
  private state!: PersistedState;
  private startup!: StartupReport;
  private readonly queue: ApplyQueue<Job, ApplyReply>;
  private readonly listeners: ((record: ApplyRecord) => void)[] = [];
  private refusedHash: string | null = null;
  private reachable = false;
  private outage: Outage | null = null;
  /** The last new document Prometheus was asked to load, and when that ended (ms). */
  private lastLoad: { revision: string; hash: string; at: number } | null = null;
  private readonly processes: ProcessProofs;
  private readonly promtool: PromtoolRunner | null;

  private constructor(private readonly o: ApplyPipelineOptions) {
    this.processes = new ProcessProofs(o.prometheus, o.layout.configFile);
    this.promtool = o.promtool ? new PromtoolRunner(o.promtool, o.layout, o.store.dir, o.promtoolSyntaxOnly ?? false) : null;
    this.queue = new ApplyQueue<Job, ApplyReply>(
      // The next promtool process starts once the apply has answered, not while Prometheus reloads.
      (job) => this.run(job).finally(() => void this.promtool?.warm()),
      (old, by) => this.o.log.info('apply superseded while waiting', { revision: old.verified.doc.revision, by: by.verified.doc.revision }),
    );
  }

  static async open(o: ApplyPipelineOptions): Promise<ApplyPipeline> {
    const p = new ApplyPipeline(o);
    const { state, report } = await reconcileAtStartup(o.store, o.layout, o.shard, o.log);
    p.state = state;
    p.startup = report;
    void p.promtool?.warm();
    // Files found unproven at start-up may be what took Prometheus down: an outage seen now is blamed on them.
    if (state.applied && !state.applied.verified) p.lastLoad = { revision: state.applied.revision, hash: state.applied.hash, at: Date.now() };
    o.metrics.setApplied(state.applied);
    o.metrics.leaderTerm.set(state.highestTerm ?? 0);
    return p;
  }

  private get blameWindowMs(): number {
    return this.o.outageBlameWindowMs ?? DEFAULT_OUTAGE_BLAME_WINDOW_MS;
  }

  get prometheusReachable(): boolean {
    return this.reachable;
  }

  get prometheusDownSince(): string | null {
    return this.outage ? new Date(this.outage.since).toISOString() : null;
  }

  /**
   * Records whether Prometheus answers (probe or apply). An outage keeps the time it began and what it
   * is blamed on: the document being loaded (`loading`), or one loaded within the blame window.
   */
  observePrometheus(up: boolean, loading?: { revision: string; hash: string }): void {
    this.reachable = up;
    this.o.metrics.prometheusUp.set(up ? 1 : 0);
    if (up) {
      this.outage = null;
      return;
    }
    if (this.outage) return;
    const now = Date.now();
    const recent = this.lastLoad && now - this.lastLoad.at <= this.blameWindowMs ? this.lastLoad : null;
    const blamed = loading ?? (recent ? { revision: recent.revision, hash: recent.hash } : null);
    this.outage = { since: now, blamed };
    this.o.log.warn('Prometheus went down', { blamedRevision: blamed?.revision ?? null });
  }

  /** For a written-unverified answer: since when Prometheus is down, and whether a document may be to blame. */
  private outageDetail(doc: { revision: string; hash: string }): ApplyResponse['prometheusDown'] {
    const o = this.outage;
    if (!o) return undefined;
    const since = new Date(o.since).toISOString();
    const windowS = Math.round(this.blameWindowMs / 1000);
    if (!o.blamed) return { since, cause: 'before-document', reason: `Prometheus has been down since ${since}, before this document was written, and no configuration was loaded within ${windowS} s before that: the document cannot have caused it` };
    if (o.blamed.hash === doc.hash) return { since, cause: 'with-document', reason: `Prometheus went down at ${since}, while this document (revision ${o.blamed.revision}) was being loaded or within ${windowS} s after: it may be what brought Prometheus down` };
    return { since, cause: 'with-document', reason: `Prometheus went down at ${since}, within ${windowS} s after revision ${o.blamed.revision} was loaded: that configuration may have brought it down, so this document is not rolled on past it` };
  }

  get applied(): AppliedState | null {
    return this.state.applied;
  }

  get applying(): boolean {
    return this.queue.running;
  }

  owners(): Record<string, JobOwner> {
    return this.state.owners;
  }

  onRecord(listener: (record: ApplyRecord) => void): void {
    this.listeners.push(listener);
  }

  /** Hash the pull loop should not re-apply on its own (Prometheus refused it; a push or force retries). */
  get lastRefusedHash(): string | null {
    return this.refusedHash;
  }

  async submit(req: ApplyRequest): Promise<ApplyReply> {
    const receivedAt = performance.now();
    const startedAt = new Date().toISOString();
    let verified: VerifiedDocument;
    try {
      verified = verifyDocument(req.document, this.o.shard, this.o.layout);
    } catch (err) {
      if (!(err instanceof DocumentRejected)) throw err;
      const d = (req.document ?? {}) as Partial<DesiredDocument>;
      const meta = { revision: String(d.revision ?? ''), generation: Number(d.generation ?? -1), hash: String(d.hash ?? '') };
      return this.finish(meta, 'rejected', { startedAt, receivedAt, error: err.message, httpStatus: err.httpStatus, source: req.source });
    }
    const refused = this.refusal(verified.doc, req.force ?? false);
    if (refused) return this.finish(verified.doc, 'rejected', { startedAt, receivedAt, error: refused, httpStatus: 409, source: req.source });
    const outcome = await this.queue.submit({ verified, force: req.force ?? false, source: req.source, receivedAt });
    if (outcome === SUPERSEDED) return this.finish(verified.doc, 'superseded', { startedAt, receivedAt, error: 'a newer document arrived while this one waited', source: req.source });
    return outcome;
  }

  /** The highest leader term seen (0 when none: outside Kubernetes, pushes carry no term). */
  get term(): number {
    return this.state.highestTerm ?? 0;
  }

  /** Why `doc` is refused with 409 before it is applied (fencing first, so a higher term is remembered either way); undefined when it may go on. */
  private refusal(doc: DesiredDocument, force: boolean): string | undefined {
    return this.fence(doc) ?? this.staleness(doc, force);
  }

  /**
   * Fencing (Kubernetes mode): a push from a term below the highest seen comes from a deposed leader,
   * and is refused whatever its generation, even with force (an operator forcing a document in
   * Kubernetes mode sends the current term, shown in the status). A higher term is remembered at once,
   * and persisted, before the document is applied or refused for any other reason.
   */
  private fence(doc: DesiredDocument): string | undefined {
    const term = doc.term ?? 0;
    const seen = this.term;
    if (term < seen) return `term ${term} is lower than term ${seen} already seen; a newer leader exists`;
    if (term > seen) {
      this.state.highestTerm = term;
      this.o.metrics.leaderTerm.set(term);
      this.o.log.info('new leader term seen', { term, previous: seen });
      void this.o.store.saveState(this.state).catch((err) => this.o.log.error('saving state failed', { error: err }));
    }
    return undefined;
  }

  /**
   * Generations only ever increase, so a lower one is an old document (a lagging or second controller),
   * and a different document at the same generation is another controller's: the first one stays.
   */
  private staleness(doc: DesiredDocument, force: boolean): string | undefined {
    const applied = this.state.applied;
    if (force || !applied || doc.generation > applied.generation) return undefined;
    if (doc.generation === applied.generation && doc.hash === applied.hash) return undefined;
    if (doc.generation === applied.generation) {
      return `revision ${doc.revision} (generation ${doc.generation}) is a different document at the generation of the applied revision ${applied.revision}: two controllers assigned the same generation; the applied one stays; use ?force=true to replace it on purpose`;
    }
    return `revision ${doc.revision} (generation ${doc.generation}) is older than the applied revision ${applied.revision} (generation ${applied.generation}); use ?force=true to roll back on purpose`;
  }

  private async run(job: Job): Promise<ApplyReply> {
    const { doc, files } = job.verified;
    const startedAt = new Date().toISOString();
    const base = { startedAt, receivedAt: job.receivedAt, source: job.source };
    const log = this.o.log.child({ revision: doc.revision, generation: doc.generation, hash: doc.hash.slice(0, 12), source: job.source });
    const steps = new StepClock(job.receivedAt);
    steps.mark('verify+queue');
    if (this.o.testDelayMs) await new Promise((r) => setTimeout(r, this.o.testDelayMs));

    // Checked again: a newer revision (or leader) may have come while this one waited.
    const refused = this.refusal(doc, job.force);
    if (refused) return this.finish(doc, 'rejected', { ...base, error: refused, httpStatus: 409 });

    // The applied document's files that this one lacks: the apply removes them, and promtool must not see them.
    const removed = (this.state.applied?.files ?? []).map((f) => f.path).filter((p) => !files.some((f) => f.path === p));
    // promtool (its own process, the longest step before the reload) starts first, before the probe,
    // unless the document may be the applied one (answered "unchanged" without a check below).
    const startPromtool = () => {
      const c = this.promtool?.check(files, removed);
      c?.catch(() => undefined);
      return c;
    };
    let checking = this.state.applied?.hash !== doc.hash ? startPromtool() : undefined;

    // Probed now, not only by the periodic watch: Prometheus found down here was down before this
    // document touched anything, so the document cannot be what brought it down.
    this.observePrometheus(await this.o.prometheus.ready());
    steps.mark('probe');

    const applied = this.state.applied;
    // Files already written but unproven are proven by a full apply once Prometheus answers again.
    const settled = applied?.verified || !this.reachable;
    if (applied && applied.hash === doc.hash && settled && (await diskMatches(this.o.layout, applied.files, applied.files.map((f) => f.path)))) {
      if (applied.revision !== doc.revision || applied.generation !== doc.generation) {
        applied.revision = doc.revision;
        applied.generation = doc.generation;
      }
      this.state.owners = doc.owners;
      // Still unproven (Prometheus is down): say so rather than "unchanged".
      if (applied.verified) return this.finish(doc, 'unchanged', base);
      return this.finish(doc, 'written-unverified', { ...base, error: 'verification pending: Prometheus has not been reachable since the write', prometheusDown: this.outageDetail(doc) });
    }
    checking ??= startPromtool();

    const managed = applied?.files.map((f) => f.path) ?? [];
    const digests = files.map((f) => ({ path: f.path, sha256: f.sha256 }));
    const mainContent = files.find((f) => f.path === MAIN_CONFIG_FILE)!.content;
    // Overlapped with promtool, because none of them changes what Prometheus reads: the gauges before
    // an HTTP reload (Prometheus's side), the snapshot of the current files, the staging of the new
    // ones in temp files, and previous.json and the journal (disk). The last two only when the applied
    // files are proven (or there are none): previous.json is then read by nothing but an apply that
    // has written a journal, so a document promtool refuses may replace it harmlessly (its journal is
    // removed before the answer). With unproven files applied, previous.json is what verifyPending
    // would roll back to, and a refused document must not replace it: written after promtool's verdict.
    const gaugesBefore = this.o.reloadMethod.kind === 'http' ? this.o.prometheus.reloadGauges().catch(() => undefined) : undefined;
    const journalEarly = !applied || applied.verified;
    let previous: Awaited<ReturnType<typeof snapshotOnDisk>>;
    let staged: StagedFileSet | undefined;
    let stageError: unknown;
    let journalWritten = false;
    const saveJournal = async () => {
      await this.o.store.savePrevious(previous);
      await this.o.store.saveJournal({ startedAt, revision: doc.revision, generation: doc.generation, hash: doc.hash, files: digests, previousHash: previous.hash });
      journalWritten = true;
    };
    // The written file's fingerprint (a YAML parse) is needed only by the full proof; computed at most once.
    let fingerprint: ReturnType<typeof expectedFingerprint> | undefined;
    const expected = () => (fingerprint ??= expectedFingerprint(mainContent, this.o.replica));
    // The local disk can fail here (full, quota, file-size limit, read-only) before anything Prometheus
    // reads was touched: answer with an ApplyResponse saying so, rather than an opaque 500 that the
    // controller would take for an unreachable agent.
    try {
      previous = await snapshotOnDisk(this.o.layout, [MAIN_CONFIG_FILE, ...managed, ...files.map((f) => f.path)], { revision: applied?.revision ?? null, generation: applied?.generation ?? null });
      const staging = stageFileSet(this.o.layout, files, removed).then(
        (s) => (staged = s),
        (err) => void (stageError = err),
      );
      const journaling = journalEarly ? saveJournal() : undefined;
      journaling?.catch(() => undefined);
      // Staging is awaited before a journal error surfaces, so that its temp files are known and removed.
      await staging;
      await journaling;
      steps.mark('snapshot+staged');
      // CPU while promtool runs in its own process: only when the full proof will probably be needed.
      if (!this.processes.likely(gaugesBefore && (await gaugesBefore), mainContent)) expected();
      const check = checking && (await checking);
      if (check) steps.mark('promtool');
      if (check && !check.ok) {
        if (staged) await discardStaged(staged);
        if (journalWritten) await this.o.store.clearJournal();
        return this.finish(doc, 'rejected', { ...base, error: check.error, httpStatus: 422 });
      }
      if (!stageError && !journalWritten) {
        await saveJournal();
        steps.mark('previous+journal');
      }
    } catch (err) {
      log.error('preparing the apply failed; nothing was changed', { error: err });
      await checking?.catch(() => undefined);
      if (staged) await discardStaged(staged).catch(() => undefined);
      await this.o.store.clearJournal().catch(() => undefined);
      return this.finish(doc, 'rejected', { ...base, error: `preparing the apply failed (nothing was changed): ${(err as Error).message}`, httpStatus: 500 });
    }

    let writtenAt: number;
    let written: WrittenFile[];
    try {
      if (stageError || !staged) throw stageError;
      writtenAt = await commitFileSet(staged);
      written = await identifyWritten(staged);
    } catch (err) {
      log.error('writing the configuration failed; restoring the previous files', { error: err });
      await restoreSnapshot(this.o.layout, previous);
      await this.o.store.clearJournal();
      return this.finish(doc, 'rolled-back', { ...base, error: `writing the configuration failed: ${(err as Error).message}`, httpStatus: 500 });
    }
    crashPoint('after-rename-before-state');
    steps.mark('write');
    await this.o.testAfterWrite?.();

    const newState: AppliedState = { revision: doc.revision, generation: doc.generation, hash: doc.hash, appliedAt: new Date().toISOString(), verified: false, files: digests };
    const verdict = await this.reloadAndProve(mainContent, writtenAt, { steps, gaugesBefore, expected, written, log });
    this.observePrometheus(verdict.kind !== 'unreachable', doc);
    this.lastLoad = { revision: doc.revision, hash: doc.hash, at: Date.now() };

    if (verdict.kind === 'proven' || verdict.kind === 'unreachable') {
      newState.verified = verdict.kind === 'proven';
      if (verdict.kind === 'proven') this.refusedHash = null;
      if (verdict.kind === 'unreachable') log.warn('Prometheus unreachable: configuration written, verification pending', { error: verdict.error });
      // Applied state and its record change together, so a status read never sees one without the other.
      this.state.applied = newState;
      this.state.owners = doc.owners;
      // finish() does not save here: the state (with this record) is saved just below, once.
      const reply = this.finish(doc, verdict.kind === 'proven' ? 'applied' : 'written-unverified', { ...base, persist: false, reloadMs: verdict.reloadMs, error: verdict.kind === 'unreachable' ? verdict.error : undefined, prometheusDown: verdict.kind === 'unreachable' ? this.outageDetail(doc) : undefined });
      // Persisted before the answer: an agent killed right after answering still knows, on restart, that
      // these files are applied and proven. The journal goes only once that state is durable.
      await this.o.store.saveState(this.state);
      await this.o.store.clearJournal();
      steps.mark('persist');
      if (verdict.kind === 'proven') log.info('configuration applied and reload proven', { reloadMs: verdict.reloadMs, proof: verdict.proof, steps: steps.steps });
      return reply;
    }

    log.warn('Prometheus did not take the configuration; rolling back', { error: verdict.error });
    const rollbackError = await this.rollBack(previous);
    this.refusedHash = doc.hash;
    await this.o.store.clearJournal();
    const error = rollbackError ? `${verdict.error}; and the rollback reload was not proven either: ${rollbackError}` : verdict.error;
    return this.finish(doc, 'rolled-back', { ...base, reloadMs: verdict.reloadMs, error });
  }

  /**
   * `mainConfig`: the main file's content as written. `extra.written` (the files as left after the
   * renames) lets a Prometheus process that already passed the full proof be proven without it.
   */
  private reloadAndProve(mainConfig: string, writtenAtMs: number, extra: { steps?: StepClock; gaugesBefore?: Promise<ReloadGauges | undefined>; expected?: () => ConfigFingerprint; written?: readonly WrittenFile[]; log?: Logger } = {}): Promise<ReloadVerdict> {
    const expected = extra.expected ?? (() => expectedFingerprint(mainConfig, this.o.replica));
    const steps = extra.steps;
    return reloadAndProve({
      client: this.o.prometheus,
      method: this.o.reloadMethod,
      writtenAtMs,
      expected,
      mainConfig,
      processes: this.processes,
      written: extra.written,
      gaugesBefore: extra.gaugesBefore,
      timeoutMs: this.o.reloadTimeoutMs,
      mark: steps && ((s) => steps.mark(s)),
      onFallback: (reason) => (extra.log ?? this.o.log).info('reload proven through /api/v1/status/config', { reason }),
    }).then((v) => {
      if (v.kind !== 'unreachable') this.o.metrics.reloadDuration.observe(v.reloadMs / 1000);
      return v;
    });
  }

  /** Restores `previous` and reloads it; returns an error text when that reload could not be proven. */
  private async rollBack(previous: FileSnapshot): Promise<string | undefined> {
    const writtenAt = await restoreSnapshot(this.o.layout, previous);
    const main = previous.files.find((f) => f.path === MAIN_CONFIG_FILE)?.content ?? '';
    const v = await this.reloadAndProve(main, writtenAt);
    if (this.state.applied) this.state.applied.verified = v.kind === 'proven';
    await this.o.store.saveState(this.state);
    this.o.metrics.setApplied(this.state.applied);
    if (v.kind === 'proven') {
      this.o.log.info('previous configuration restored and reload proven', { revision: previous.revision });
      return undefined;
    }
    this.o.log.error('previous configuration restored but its reload was not proven', { error: v.error });
    return v.error;
  }

  /**
   * Proves a written-unverified configuration once Prometheus answers again (or rolls it back if
   * Prometheus refuses it). Runs in the apply queue so it never overlaps an apply.
   */
  verifyPending(): Promise<void> {
    return this.queue.exclusive(async () => {
      const applied = this.state.applied;
      if (!applied || applied.verified) return;
      const started = performance.now();
      const startedAt = new Date().toISOString();
      const main = await readIfExists(this.o.layout.configFile);
      if (main === null) return;
      // Everything on disk was in place before this moment; any reload after it reads those files.
      const verdict = await this.reloadAndProve(main, Date.now());
      if (verdict.kind === 'unreachable') return;
      this.observePrometheus(true);
      this.lastLoad = { revision: applied.revision, hash: applied.hash, at: Date.now() };
      const doc = { revision: applied.revision, generation: applied.generation, hash: applied.hash };
      const base = { startedAt, receivedAt: started, source: 'verify' as const, count: false };
      if (verdict.kind === 'proven') {
        applied.verified = true;
        this.refusedHash = null;
        this.o.log.info('pending configuration verified', { revision: applied.revision, reloadMs: verdict.reloadMs });
        this.finish(doc, 'applied', { ...base, reloadMs: verdict.reloadMs });
        await this.o.store.saveState(this.state);
        return;
      }
      const previous = await this.o.store.loadPrevious();
      this.o.log.warn('Prometheus refused the pending configuration; rolling back', { revision: applied.revision, error: verdict.error });
      this.refusedHash = applied.hash;
      if (!previous) {
        this.finish(doc, 'rolled-back', { ...base, error: `${verdict.error}; no previous configuration recorded to roll back to` });
        return;
      }
      this.state.applied =
        previous.revision === null
          ? null
          : { revision: previous.revision, generation: previous.generation ?? 0, hash: previous.hash, appliedAt: new Date().toISOString(), verified: false, files: previous.files.filter((f) => f.content !== null).map((f) => ({ path: f.path, sha256: sha256Hex(f.content!) })) };
      const rollbackError = await this.rollBack(previous);
      this.finish(doc, 'rolled-back', { ...base, error: rollbackError ? `${verdict.error}; rollback not proven: ${rollbackError}` : verdict.error });
    });
  }

  private finish(
    doc: { revision: string; generation: number; hash: string },
    result: ApplyResult,
    info: { startedAt: string; receivedAt: number; error?: string; reloadMs?: number; httpStatus?: number; source?: string; count?: boolean; persist?: boolean; prometheusDown?: ApplyResponse['prometheusDown'] },
  ): ApplyReply {
    const applyMs = Math.round(performance.now() - info.receivedAt);
    const record: ApplyRecord = {
      revision: doc.revision,
      generation: doc.generation,
      hash: doc.hash,
      result,
      ...(info.error ? { error: info.error } : {}),
      startedAt: info.startedAt,
      finishedAt: new Date().toISOString(),
      applyMs,
      ...(info.reloadMs !== undefined ? { reloadMs: info.reloadMs } : {}),
    };
    this.state.recent = [record, ...this.state.recent].slice(0, this.o.historySize ?? 20);
    if (info.count !== false) {
      this.o.metrics.countApply(result);
      this.o.metrics.applyDuration.observe(applyMs / 1000);
    }
    if (result === 'applied' || result === 'unchanged') this.o.metrics.lastSuccessTimestamp.set(Date.now() / 1000);
    this.o.metrics.setApplied(this.state.applied);
    // History is persisted with the next state write; losing the last few records in a crash is harmless.
    if (result !== 'rejected' && result !== 'superseded' && info.persist !== false) void this.o.store.saveState(this.state).catch((err) => this.o.log.error('saving state failed', { error: err }));
    if (result === 'rejected' || result === 'rolled-back') this.o.log.warn(`apply ${result}`, { revision: doc.revision, error: info.error, source: info.source });
    for (const l of this.listeners) l(record);
    const body: ApplyResponse = { result, shard: this.o.shard, revision: doc.revision, hash: doc.hash, applyMs, ...(info.error ? { error: info.error } : {}), ...(info.reloadMs !== undefined ? { reloadMs: info.reloadMs } : {}), ...(info.prometheusDown ? { prometheusDown: info.prometheusDown } : {}), ...(this.term > 0 ? { term: this.term } : {}) };
    return { httpStatus: info.httpStatus ?? HTTP_STATUS[result], body };
  }

  status(self: { replica: string; url: string; flagCount: number }): AgentStatusDetail {
    const a = this.state.applied;
    return {
      shard: this.o.shard,
      replica: self.replica,
      url: self.url,
      applied: a ? { revision: a.revision, generation: a.generation, hash: a.hash, appliedAt: a.appliedAt, verified: a.verified } : null,
      lastResult: this.state.recent[0] ?? null,
      prometheusReachable: this.reachable,
      prometheusDownSince: this.prometheusDownSince,
      applying: this.queue.running,
      recent: this.state.recent,
      flagCount: self.flagCount,
      term: this.term,
      startup: this.startup,
      lastRefusedHash: this.refusedHash,
    };
  }

  /** Waits for the apply in progress and stops the waiting promtool (used on shutdown). */
  async idle(): Promise<void> {
    await this.queue.idle();
    await this.promtool?.close();
  }
}
