// Watches the targets a revision added or changed on one shard until each one is up or a bound passes:
// it asks the shard's proven replicas (GET /v1/targets on their agents, which read their Prometheus)
// every `pollMs`. A target seen up gets its first successful scrape time (Prometheus's lastScrape the
// first time it is seen up: at most one poll after the real first scrape; for a changed job's
// target, the first scrape after the one seen at the first poll), and the
// commit→first-scrape histogram is observed once per target. A target still down when the bound
// passes keeps Prometheus's own error (connection refused, 401, timeout) for the author.
//
// How often: a target's lastScrape moves once per scrape interval, so a round anywhere within one
// interval of its first scrape still reads that scrape's time. Rounds are therefore `pollMs` apart, or
// a quarter of the shortest scrape interval of the watched jobs when that is longer (at most
// MAX_GAP_MS): the same first-scrape times and histogram, far fewer calls during a fan-out (with 20 s
// intervals, one call in five). A shard whose watched targets are all new waits one gap before its
// first round (a scrape made meanwhile is still the one that round reads); one with changed jobs
// asks at once, for the baseline above, which must be read before their first scrape under the new
// configuration.
import type { Logger } from '../core/log/logger.ts';
import { sleep } from '../core/time/backoff.ts';
import { parseDurationMs } from '../core/time/duration.ts';
import type { AgentClient } from './agent-client.ts';
import { askTargets } from './agent-targets.ts';
import type { AgentFaults } from './agent-faults.ts';
import type { AgentRegistry } from './agent-registry.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { ControllerState } from './controller-state.ts';
import type { ShardLife } from './revision-life.ts';

export interface TargetHealthWatchOptions {
  state: ControllerState;
  registry: AgentRegistry;
  client: AgentClient;
  faults: AgentFaults;
  metrics: ControllerMetrics;
  log: Logger;
  signal: AbortSignal;
  /** The shortest gap between two rounds; default 1 s (longer for long scrape intervals, see above). */
  pollMs?: number;
  /** How long a target may take to come up before it is reported as it stands; default 2 min. */
  boundMs?: number;
  timeoutMs?: number;
}

/** The longest gap between two rounds, so that a long scrape interval does not delay the commit status much. */
export const MAX_GAP_MS = 5000;

/** The gap between two rounds for jobs whose shortest scrape interval is `scrapeIntervalMs`. */
export function roundGapMs(pollMs: number, scrapeIntervalMs: number | undefined): number {
  return Math.max(pollMs, Math.min(MAX_GAP_MS, (scrapeIntervalMs ?? 0) / 4));
}

export class TargetHealthWatch {
  private readonly watching = new Set<string>();
  /**
   * A changed job's targets were scraped under the previous configuration too, and Prometheus keeps
   * their lastScrape across the reload: the first scrape seen for them is only a baseline, and their
   * first scrape under this revision is the first one after it. Keyed by sha/shard/job/address/replica.
   */
  private readonly baselines = new Map<string, string>();

  constructor(private readonly o: TargetHealthWatchOptions) {}

  watch(sha: string, shard: string): void {
    const key = `${sha}/${shard}`;
    if (this.watching.has(key) || this.o.signal.aborted) return;
    this.watching.add(key);
    void this.run(sha, shard)
      .catch((err) => this.o.log.error('target health watch failed', { revision: sha, shard, error: err }))
      .finally(() => {
        this.watching.delete(key);
        for (const k of this.baselines.keys()) if (k.startsWith(`${key}/`)) this.baselines.delete(k);
      });
  }

  private life(sha: string, shard: string): ShardLife | undefined {
    return this.o.state.revisions.get(sha)?.shards[shard];
  }

  private async run(sha: string, shard: string): Promise<void> {
    const started = Date.now();
    let answered = false;
    const first = this.life(sha, shard);
    const gapMs = roundGapMs(this.o.pollMs ?? 1000, first && this.shortestInterval(sha, shard, first));
    const boundMs = this.o.boundMs ?? 120_000;
    if (first && first.targets.every((t) => t.change === 'added') && !(await this.pause(gapMs))) return;
    for (;;) {
      const life = this.life(sha, shard);
      if (!life || life.targetsSettled) return;
      const round = await this.pollOnce(sha, shard, life);
      answered ||= round.answered;
      if (round.changed) this.o.state.revisions.changed(sha);
      if (life.targets.every((t) => t.health === 'up') || Date.now() - started >= boundMs) {
        // Prometheus drops a scrape pool it cannot build (an unreadable CA file, say) yet reloads fine.
        const why = answered
          ? `no replica's Prometheus listed this target within ${Math.round(boundMs / 1000)} s of the reload (a scrape pool Prometheus could not build is left out: see its log)`
          : `no replica's agent told its Prometheus's targets within ${Math.round(boundMs / 1000)} s (unreachable, its Prometheus down, or an agent without GET /v1/targets)`;
        for (const t of life.targets) if (t.health === 'unknown' && !t.lastError) t.lastError = why;
        life.targetsSettled = true;
        this.o.state.revisions.changed(sha);
        return;
      }
      if (!(await this.pause(gapMs))) return;
    }
  }

  /**
   * The shortest scrape interval of the watched jobs, read from the shard's compiled model while the
   * watched revision is still the last good one (undefined otherwise: the gap is then `pollMs`).
   */
  private shortestInterval(sha: string, shard: string, life: ShardLife): number | undefined {
    const compiled = this.o.state.repository.lastGood?.sha === sha ? this.o.state.shards.get(shard)?.compiled : undefined;
    if (!compiled) return undefined;
    const jobs = new Set(life.targets.map((t) => t.job));
    let min: number | undefined;
    for (const j of compiled.jobs) {
      if (!jobs.has(j.name)) continue;
      const ms = parseDurationMs(j.spec.interval);
      if (ms !== undefined && ms > 0 && (min === undefined || ms < min)) min = ms;
    }
    return min;
  }

  /** False when the controller is closing. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, this.o.signal);
    } catch {
      return false;
    }
    return !this.o.signal.aborted;
  }

  /** One round over the proven replicas: did any target's health change, did any agent answer. */
  private async pollOnce(sha: string, shard: string, life: ShardLife): Promise<{ changed: boolean; answered: boolean }> {
    const record = this.o.state.revisions.get(sha);
    if (!record) return { changed: false, answered: false };
    let answered = false;
    const jobs = [...new Set(life.targets.map((t) => t.job))];
    let changed = false;
    for (const [replica, rep] of Object.entries(life.replicas)) {
      if (!rep.proven) continue;
      const agent = this.o.registry.get(shard, replica);
      if (!agent || agent.reachable === false) continue;
      const answer = await askTargets(this.o.client, this.o.faults, agent, jobs, this.o.timeoutMs);
      if (!answer) continue;
      answered = true;
      for (const t of life.targets) {
        if (t.health === 'up') continue;
        const seen = answer.targets.find((x) => x.job === t.job && x.address === t.address);
        if (!seen) continue;
        if (t.change === 'changed') {
          const key = `${sha}/${shard}/${t.job}/${t.address}/${replica}`;
          const baseline = this.baselines.get(key);
          if (baseline === undefined) {
            this.baselines.set(key, seen.lastScrape ?? '');
            continue;
          }
          if (!seen.lastScrape || seen.lastScrape <= baseline) continue;
        }
        const before = `${t.health}|${t.lastError ?? ''}|${t.lastScrapeAt ?? ''}`;
        t.replica = replica;
        t.health = seen.health;
        if (seen.lastScrape) t.lastScrapeAt = seen.lastScrape;
        if (seen.lastError) t.lastError = seen.lastError;
        else delete t.lastError;
        if (seen.health === 'up' && seen.lastScrape && !t.firstScrapeAt) {
          t.firstScrapeAt = seen.lastScrape;
          const seconds = (Date.parse(seen.lastScrape) - Date.parse(record.receivedAt)) / 1000;
          this.o.metrics.commitToFirstScrape.observe(Math.max(0, seconds));
        }
        if (`${t.health}|${t.lastError ?? ''}|${t.lastScrapeAt ?? ''}` !== before) changed = true;
      }
      if (life.targets.every((t) => t.health === 'up')) break;
    }
    return { changed, answered };
  }
}
