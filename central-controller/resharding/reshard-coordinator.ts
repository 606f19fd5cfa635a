// Resharding without gaps. When a revision changes a shard's split layout (`split`, `split_by`), the
// shard's units run overlap documents (core/placement/reshard-overlap.ts): every moved target is
// scraped by its old unit and its new one. This loop asks the new units' agents (GET /v1/targets,
// read from their Prometheus) until each moved target has been scraped there, then ends the overlap:
// the shard's documents become the new layout's, and units of the old layout only get a document that
// scrapes nothing. The overlap is bounded: past `boundMs` it ends even if some moved targets were not
// seen scraped by their new unit (they are named in the timeline), unless a new unit has no replica
// running its document at all, in which case ending it would only drop targets nobody else scrapes.
import type { Logger } from '../../core/log/logger.ts';
import type { DesiredDocument } from '../../core/document/desired-document.ts';
import type { CompiledRepository, CompiledShard } from '../../schemas/model.ts';
import { buildOverlapDocuments, buildRetiredDocument } from '../../core/render/shard-documents.ts';
import { describeLayout, layoutOf, movedTargets, overlapUnits, sameLayout, type OverlapUnit, type SplitLayout } from '../../core/placement/reshard-overlap.ts';
import { splitShardModel } from '../../core/placement/split-model.ts';
import { splitUnits } from '../../core/document/split-name.ts';
import { parseDurationMs } from '../../core/time/duration.ts';
import { sleep } from '../../core/time/backoff.ts';
import type { AgentClient } from '../agent-client.ts';
import { askTargets } from '../agent-targets.ts';
import type { AgentFaults } from '../agent-faults.ts';
import type { AgentRecord, AgentRegistry } from '../agent-registry.ts';
import type { ControllerMetrics } from '../controller-metrics.ts';
import { runsHash } from '../replica-status.ts';
import type { ControllerState, RevisionRef } from '../controller-state.ts';
import type { Reshard, ReshardBook, ReshardTarget } from './reshard-book.ts';
import type { AgentTargets } from '../../core/protocol/agent-api.ts';

export const DEFAULT_RESHARD_BOUND_MS = 10 * 60_000;

export interface ReshardCoordinatorOptions {
  state: ControllerState;
  registry: AgentRegistry;
  client: AgentClient;
  faults: AgentFaults;
  metrics: ControllerMetrics;
  log: Logger;
  signal: AbortSignal;
  book: ReshardBook;
  /** Longest overlap; default 10 min. 0: no overlap, a layout change rolls out at once (and may leave a gap). */
  boundMs?: number;
  /** How often the new units' agents are asked; default 1 s. */
  pollMs?: number;
  timeoutMs?: number;
  /** A phase ended: the last good revision must be adopted again, with the documents of the next phase. */
  onPhaseChanged(): void;
}

export interface ReshardView extends Reshard {
  movedCount: number;
  handedOverCount: number;
  /** Seconds since the overlap started (to its handover, once handed over). */
  overlapSeconds: number;
  boundSeconds: number;
}

type Revision = { revision: string; generation: number; committedAt: string };

/** A shard's units under its compiled layout, with their documents from the adopted revision's `documents`. */
function addPlain(shard: CompiledShard, documents: Map<string, DesiredDocument>, units: CompiledShard[], docs: Map<string, DesiredDocument>): void {
  for (const split of splitUnits(shard)) {
    units.push(splitShardModel(shard, split));
    docs.set(split.name, documents.get(split.name)!);
  }
}

export class ReshardCoordinator {
  private readonly boundMs: number;
  private running = false;

  constructor(private readonly o: ReshardCoordinatorOptions) {
    this.boundMs = o.boundMs ?? DEFAULT_RESHARD_BOUND_MS;
    this.publish();
  }

  /**
   * The rollout units of an adopted revision and their documents: shards being resharded get their
   * overlap (or retiring) units, every other shard its plain ones from `documents`.
   */
  unitsOf(model: CompiledRepository, documents: Map<string, DesiredDocument>, ref: RevisionRef): { units: CompiledShard[]; documents: Map<string, DesiredDocument> } {
    const book = this.o.book;
    const revision: Revision = { revision: ref.sha, generation: 0, committedAt: ref.committedAt };
    const units: CompiledShard[] = [];
    const docs = new Map<string, DesiredDocument>();
    let dirty = false;
    const present = new Set(model.shards.map((s) => s.name));
    for (const shard of model.shards) {
      const layout = layoutOf(shard);
      const settled = book.layouts[shard.name];
      if (!settled) {
        book.layouts[shard.name] = layout;
        dirty = true;
      }
      let r: Reshard | undefined = book.active[shard.name];
      if (r && r.phase === 'retiring' && !sameLayout(r.to, layout)) {
        // Handed over already: the old layout's units dropped what moved, so the layout that runs is
        // r.to (the settled one). Another change, back to r.from included, is a new reshard from it;
        // calling this one off, or restarting it from r.from, would switch the running units at once.
        this.end(r, 'reshard-done', `${shard.name}: changed to ${describeLayout(layout)} at ${ref.sha.slice(0, 12)} while ${r.retiring.join(', ')} retired; ${r.retiring.length === 1 ? 'it is' : 'they are'} no longer driven as such, and the change is a new reshard from ${describeLayout(r.to)}`);
        r = undefined;
        dirty = true;
      }
      if (this.boundMs === 0 && settled && !r && !sameLayout(settled, layout)) {
        // --reshard-overlap-max 0: no overlap, the new layout replaces the old one in one rollout.
        book.layouts[shard.name] = layout;
        this.o.state.record({ type: 'reshard-done', revision: ref.sha, shard: shard.name, message: `${shard.name}: ${describeLayout(settled)} → ${describeLayout(layout)} in one rollout, without overlap (--reshard-overlap-max 0): moved targets are not scraped between their old unit's reload and their new unit's` });
        dirty = true;
      } else if (r && sameLayout(r.from, layout)) {
        this.end(r, 'reshard-cancelled', `${shard.name} is back to ${describeLayout(layout)} at ${ref.sha.slice(0, 12)}: the reshard to ${describeLayout(r.to)} is called off; units of that layout stop being driven`);
        r = undefined;
        dirty = true;
      } else if (!r && settled && !sameLayout(settled, layout)) {
        r = this.begin(shard, settled, ref);
        dirty = true;
      } else if (r && !sameLayout(r.to, layout)) {
        const was = r.to;
        Object.assign(r, { to: layout, phase: 'overlap', revision: ref.sha, deadlineAt: new Date(Date.now() + this.boundMs).toISOString(), handedOverAt: null, expired: null, overdueAt: null });
        this.o.state.record({ type: 'reshard-started', revision: ref.sha, shard: shard.name, message: `${shard.name}: the reshard now goes to ${describeLayout(layout)} instead of ${describeLayout(was)}; the overlap with ${describeLayout(r.from)} starts again` });
        dirty = true;
      }
      if (r) {
        // Computed once per adoption: overlapUnits hashes every static target of the shard under both layouts.
        const overlap = overlapUnits(shard, r.from);
        dirty = this.refresh(r, shard, overlap) || dirty;
        this.add(r, shard, overlap, documents, revision, units, docs);
      } else addPlain(shard, documents, units, docs);
    }
    for (const name of Object.keys(book.layouts)) {
      if (present.has(name)) continue;
      // Removed from shards.yaml: nothing to overlap with if it comes back.
      delete book.layouts[name];
      if (book.active[name]) this.end(book.active[name], 'reshard-cancelled', `${name} was removed from shards.yaml: its reshard is called off`);
      dirty = true;
    }
    if (dirty) this.save();
    return { units, documents: docs };
  }

  private begin(shard: CompiledShard, from: SplitLayout, ref: RevisionRef): Reshard {
    const now = new Date();
    const r: Reshard = {
      shard: shard.name,
      from,
      to: layoutOf(shard),
      phase: 'overlap',
      revision: ref.sha,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + this.boundMs).toISOString(),
      moved: [],
      discoveryJobs: [],
      unitsProvenAt: {},
      retiring: [],
      waitingFor: null,
      handedOverAt: null,
      endedAt: null,
      expired: null,
      overdueAt: null,
    };
    this.o.book.active[shard.name] = r;
    this.refresh(r, shard, overlapUnits(shard, from));
    this.o.state.record({
      type: 'reshard-started',
      revision: ref.sha,
      shard: shard.name,
      message: `${shard.name}: ${describeLayout(from)} → ${describeLayout(r.to)} at ${ref.sha.slice(0, 12)}; ${r.moved.length} target(s) move and are scraped by both units until their new unit has scraped them (at most ${Math.round(this.boundMs / 1000)} s)`,
    });
    this.o.log.info('reshard started', { shard: shard.name, from, to: r.to, moved: r.moved.length, revision: ref.sha });
    return r;
  }

  /** Recomputes the moved targets from the current model, keeping what was already handed over. */
  private refresh(r: Reshard, shard: CompiledShard, units: readonly OverlapUnit[]): boolean {
    const before = JSON.stringify([r.moved, r.discoveryJobs, r.retiring, Object.keys(r.unitsProvenAt)]);
    const done = new Map(r.moved.filter((t) => t.handedOverAt).map((t) => [`${t.job}\0${t.address}\0${t.to}`, t]));
    r.moved = movedTargets(shard, r.from).map((m) => done.get(`${m.job}\0${m.address}\0${m.to}`) ?? { ...m, handedOverAt: null });
    r.discoveryJobs = shard.jobs.filter((j) => j.spec.discovery).map((j) => j.name);
    r.retiring = units.filter((u) => u.role === 'old').map((u) => u.split.name);
    r.unitsProvenAt = Object.fromEntries(units.filter((u) => u.role !== 'old').map((u) => [u.split.name, r.unitsProvenAt[u.split.name] ?? null]));
    return JSON.stringify([r.moved, r.discoveryJobs, r.retiring, Object.keys(r.unitsProvenAt)]) !== before;
  }

  private add(r: Reshard, shard: CompiledShard, overlap: readonly OverlapUnit[], documents: Map<string, DesiredDocument>, revision: Revision, units: CompiledShard[], docs: Map<string, DesiredDocument>): void {
    if (r.phase === 'overlap') {
      const overlapDocs = buildOverlapDocuments(shard, r.from, revision, overlap);
      for (const u of overlap) {
        units.push(u.model);
        docs.set(u.split.name, overlapDocs.get(u.split.name)!);
      }
      return;
    }
    addPlain(shard, documents, units, docs);
    for (const u of overlap) {
      if (u.role !== 'old') continue;
      units.push({ ...u.model, jobs: [] });
      docs.set(u.split.name, buildRetiredDocument(shard, u.split, revision));
    }
  }

  private end(r: Reshard, type: 'reshard-cancelled' | 'reshard-done', message: string): void {
    r.endedAt = new Date().toISOString();
    r.waitingFor = null;
    this.o.book.finish(r);
    this.o.state.record({ type, shard: r.shard, revision: r.revision, message });
    this.o.log.info(type === 'reshard-done' ? 'reshard done' : 'reshard cancelled', { shard: r.shard, revision: r.revision });
  }

  /** Starts the loop that watches the overlaps (until the controller closes). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void (async () => {
      while (!this.o.signal.aborted) {
        try {
          await this.tick();
        } catch (err) {
          this.o.log.error('reshard watch failed', { error: err });
        }
        try {
          await sleep(this.o.pollMs ?? 1000, this.o.signal);
        } catch {
          return;
        }
      }
    })();
  }

  /** One round over the reshards in progress; exposed for tests. */
  async tick(): Promise<void> {
    for (const r of Object.values(this.o.book.active)) {
      if (r.phase === 'overlap') await this.watchOverlap(r);
      else this.watchRetiring(r);
    }
    this.publish();
  }

  private provenReplicas(unit: string): AgentRecord[] {
    const hash = this.o.state.shards.get(unit)?.desired?.hash;
    return this.o.registry.replicasOf(unit).filter((a) => a.reachable !== false && runsHash(a, hash));
  }

  private targetsOfAgent(agent: AgentRecord, jobs: string[]): Promise<AgentTargets | null> {
    return askTargets(this.o.client, this.o.faults, agent, jobs, this.o.timeoutMs);
  }

  /** The first answer of `agents` whose Prometheus answered. */
  private async targetsOf(agents: readonly AgentRecord[], jobs: string[]): Promise<AgentTargets | null> {
    for (const agent of agents) {
      const answer = await this.targetsOfAgent(agent, jobs);
      if (answer) return answer;
    }
    return null;
  }

  private async watchOverlap(r: Reshard): Promise<void> {
    const now = Date.now();
    // The questions below take time; a revision adopted meanwhile may have called this reshard off or
    // pointed it at another layout. What the answers say is then about documents no longer desired.
    const layout = JSON.stringify(r.to);
    const stale = () => this.o.book.active[r.shard] !== r || r.phase !== 'overlap' || JSON.stringify(r.to) !== layout;
    const waiting: string[] = [];
    const proven = new Map<string, AgentRecord[]>();
    // A new unit takes targets over on every replica it has: each HA replica must hold the moved
    // target's series from the handover on, so all its reachable replicas must run the overlap document.
    const partial = new Set<string>();
    for (const unit of Object.keys(r.unitsProvenAt)) {
      const replicas = this.provenReplicas(unit);
      proven.set(unit, replicas);
      const reachable = this.o.registry.replicasOf(unit).filter((a) => a.reachable !== false).length;
      if (replicas.length > 0 && replicas.length < reachable) {
        partial.add(unit);
        waiting.push(`${unit}: ${replicas.length} of ${reachable} reachable replicas run the overlap document`);
      }
      const hash = this.o.state.shards.get(unit)?.desired?.hash;
      // The time every reachable replica runs the document: discovered targets are judged from then.
      if (replicas.length === 0 || partial.has(unit)) r.unitsProvenAt[unit] = null;
      else if (!r.unitsProvenAt[unit]?.startsWith(`${hash}@`)) r.unitsProvenAt[unit] = `${hash}@${new Date(now).toISOString()}`;
    }
    const unproven = [...proven].filter(([, a]) => a.length === 0).map(([u]) => u);
    let changed = false;
    // Moved static targets, asked of every replica of their new unit: handed over once all report a scrape.
    const pendingByUnit = new Map<string, ReshardTarget[]>();
    for (const t of r.moved) if (!t.handedOverAt) pendingByUnit.set(t.to, [...(pendingByUnit.get(t.to) ?? []), t]);
    const downInNew: ReshardTarget[] = [];
    for (const [unit, targets] of pendingByUnit) {
      const replicas = proven.get(unit) ?? [];
      if (replicas.length === 0 || partial.has(unit)) continue;
      const jobs = [...new Set(targets.map((t) => t.job))];
      const answers = await Promise.all(replicas.map((a) => this.targetsOfAgent(a, jobs)));
      if (answers.some((a) => a === null)) {
        waiting.push(`${unit}: not every replica's agent told its targets`);
        continue;
      }
      for (const t of targets) {
        const seen = answers.map((answer) => answer!.targets.filter((x) => x.job === t.job && x.address === t.address));
        if (seen.every((s) => s.some((x) => x.health === 'up' && x.lastScrape))) {
          t.handedOverAt = new Date().toISOString();
          t.how = 'scraped';
          changed = true;
        } else if (seen.every((s) => s.some((x) => x.lastScrape)) && seen.every((s) => !s.some((x) => x.health === 'up'))) downInNew.push(t);
      }
    }
    // A target down under its new unit is handed over only if it is not up under its old one either:
    // then the old unit is not getting its samples any more than the new one.
    const downByOld = new Map<string, ReshardTarget[]>();
    for (const t of downInNew) downByOld.set(t.from, [...(downByOld.get(t.from) ?? []), t]);
    for (const [unit, targets] of downByOld) {
      const answer = await this.targetsOf(this.o.registry.replicasOf(unit).filter((a) => a.reachable !== false), [...new Set(targets.map((t) => t.job))]);
      if (!answer) continue;
      for (const t of targets) {
        if (answer.targets.some((x) => x.job === t.job && x.address === t.address && x.health === 'up')) continue;
        t.handedOverAt = new Date().toISOString();
        t.how = 'down-in-both';
        changed = true;
      }
    }
    if (stale()) return;
    const pending = r.moved.filter((t) => !t.handedOverAt);
    if (pending.length) waiting.push(`${pending.length} moved target(s) not yet scraped by their new unit`);
    const discoveryOk = r.discoveryJobs.length === 0 || (await this.discoveryHandedOver(r, proven, partial, waiting));
    if (stale()) return;
    if (unproven.length) waiting.unshift(`${unproven.join(', ')}: no replica runs the overlap document yet`);
    const waitingFor = waiting.length ? waiting.join('; ') : null;
    if (waitingFor !== r.waitingFor) {
      r.waitingFor = waitingFor;
      changed = true;
    }
    if (pending.length === 0 && discoveryOk && unproven.length === 0) {
      this.handOver(r, null);
      return;
    }
    if (r.overdueAt && unproven.length === 0) {
      // The overlap stayed past its bound for a unit that now runs its document but may not have
      // scraped anything yet: ending it now would drop its moved targets from their old unit before
      // their first scrape here. The bound counts again from now.
      r.overdueAt = null;
      r.deadlineAt = new Date(now + this.boundMs).toISOString();
      changed = true;
      this.o.state.record({ type: 'reshard-overdue', shard: r.shard, revision: r.revision, message: `${r.shard}: every new unit runs its overlap document now; the overlap waits for their scrapes, at most ${Math.round(this.boundMs / 1000)} s more` });
    }
    if (now >= Date.parse(r.deadlineAt)) {
      if (unproven.length === 0) {
        const names = pending.slice(0, 10).map((t) => `${t.job}/${t.address} (${t.from} → ${t.to})`);
        this.handOver(r, `the ${Math.round(this.boundMs / 1000)} s bound passed with ${pending.length} moved target(s) not seen scraped by their new unit${names.length ? `: ${names.join(', ')}${pending.length > names.length ? ', …' : ''}` : ''}${discoveryOk ? '' : '; discovered targets not all scraped yet'}`);
        return;
      }
      if (!r.overdueAt) {
        r.overdueAt = new Date(now).toISOString();
        changed = true;
        this.o.state.record({ type: 'reshard-overdue', shard: r.shard, revision: r.revision, message: `${r.shard}: the overlap passed its ${Math.round(this.boundMs / 1000)} s bound but stays: ${unproven.join(', ')} has no replica running its document, so ending it would drop targets nobody else scrapes` });
      }
    }
    if (changed) this.save();
  }

  /**
   * Discovered targets are known only to Prometheus: a new unit has taken them over when, at least two
   * scrape intervals after one of its replicas ran the overlap document, every target its Prometheus
   * lists for those jobs has been scraped since.
   */
  private async discoveryHandedOver(r: Reshard, proven: Map<string, AgentRecord[]>, partial: ReadonlySet<string>, waiting: string[]): Promise<boolean> {
    const shard = this.o.state.repository.model?.shards.find((s) => s.name === r.shard);
    const intervalMs = Math.max(...(shard?.jobs.filter((j) => r.discoveryJobs.includes(j.name)).map((j) => parseDurationMs(j.spec.interval) ?? 60_000) ?? [60_000]));
    for (const [unit, replicas] of proven) {
      const since = r.unitsProvenAt[unit]?.split('@')[1];
      if (!since || replicas.length === 0 || partial.has(unit)) return false;
      if (Date.now() - Date.parse(since) < 2 * intervalMs) {
        waiting.push(`${unit}: discovered targets get two scrape intervals`);
        return false;
      }
      // Every replica, as for static targets: each HA replica must hold the series from the handover on.
      const answers = await Promise.all(replicas.map((a) => this.targetsOfAgent(a, r.discoveryJobs)));
      if (answers.some((answer) => !answer || answer.targets.some((t) => !t.lastScrape || t.lastScrape < since))) {
        waiting.push(`${unit}: not every discovered target scraped yet`);
        return false;
      }
    }
    return true;
  }

  private handOver(r: Reshard, expired: string | null): void {
    const now = new Date();
    r.handedOverAt = now.toISOString();
    r.expired = expired;
    r.waitingFor = null;
    this.o.book.layouts[r.shard] = r.to;
    const seconds = (now.getTime() - Date.parse(r.startedAt)) / 1000;
    this.o.metrics.reshardOverlapSeconds.observe(seconds);
    const message = `${r.shard}: overlap over after ${seconds.toFixed(1)} s; ${r.moved.filter((t) => t.how === 'scraped').length} of ${r.moved.length} moved target(s) seen scraped by their new unit${expired ? `. ${expired}` : ''}${r.retiring.length ? `; ${r.retiring.join(', ')} now scrape nothing` : ''}`;
    if (r.retiring.length) {
      r.phase = 'retiring';
      r.deadlineAt = new Date(now.getTime() + this.boundMs).toISOString();
      this.o.state.record({ type: 'reshard-handed-over', shard: r.shard, revision: r.revision, message });
    } else this.end(r, 'reshard-done', message);
    this.o.log.info('reshard handed over', { shard: r.shard, seconds, expired });
    this.save();
    this.o.onPhaseChanged();
  }

  /** Units of the old layout only are done when every reachable replica runs the retired document. */
  private watchRetiring(r: Reshard): void {
    const lagging: string[] = [];
    for (const unit of r.retiring) {
      const hash = this.o.state.shards.get(unit)?.desired?.hash;
      for (const a of this.o.registry.replicasOf(unit)) {
        if (!runsHash(a, hash) && (a.reachable !== false || Date.now() < Date.parse(r.deadlineAt))) lagging.push(a.key);
      }
    }
    const waitingFor = lagging.length ? `${lagging.join(', ')} still scrape their old share` : null;
    if (lagging.length === 0) {
      this.end(r, 'reshard-done', `${r.shard}: ${r.retiring.join(', ')} scrape nothing now; the reshard to ${describeLayout(r.to)} is done (remove their Prometheus servers)`);
      this.save();
      this.o.onPhaseChanged();
    } else if (waitingFor !== r.waitingFor) {
      r.waitingFor = waitingFor;
      this.save();
    }
  }

  private save(): void {
    try {
      this.o.book.save();
    } catch (err) {
      this.o.log.error('could not save reshards.json', { error: err });
    }
    this.publish();
    this.o.state.repositoryChanged();
  }

  private publish(): void {
    const m = this.o.metrics;
    m.reshardActive.reset();
    m.reshardTargets.reset();
    for (const r of Object.values(this.o.book.active)) {
      m.reshardActive.set({ shard: r.shard, phase: r.phase }, 1);
      const done = r.moved.filter((t) => t.handedOverAt).length;
      m.reshardTargets.set({ shard: r.shard, state: 'handed-over' }, done);
      m.reshardTargets.set({ shard: r.shard, state: 'kept-twice' }, r.moved.length - done);
    }
  }

  view(): { active: ReshardView[]; recent: ReshardView[] } {
    const toView = (r: Reshard): ReshardView => ({
      ...r,
      movedCount: r.moved.length,
      handedOverCount: r.moved.filter((t) => t.handedOverAt).length,
      overlapSeconds: Math.round(((r.handedOverAt ? Date.parse(r.handedOverAt) : Date.now()) - Date.parse(r.startedAt)) / 100) / 10,
      boundSeconds: Math.round(this.boundMs / 1000),
    });
    return { active: Object.values(this.o.book.active).map(toView), recent: this.o.book.recent.map(toView) };
  }
}
