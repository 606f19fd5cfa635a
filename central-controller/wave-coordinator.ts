// Releases a new revision to the shards it changes, in waves: with more than one changed shard, one
// canary shard first (--canary-shard when it is among them, else the first by name); the rest only
// once the canary runs the new document on every reachable replica. A failed canary halts the wave
// (the other shards keep their current configuration) until the canary recovers or a newer revision
// starts a new wave. Bounded concurrency comes from the shared push semaphore.
import type { Logger } from '../core/log/logger.ts';
import type { AgentRegistry } from './agent-registry.ts';
import type { ControllerState, ShardState } from './controller-state.ts';
import { settlement } from './replica-status.ts';
import type { ShardWorker } from './shard-worker.ts';

export interface WaveOptions {
  state: ControllerState;
  registry: AgentRegistry;
  workerFor(shard: string): ShardWorker;
  canaryShard?: string;
  log: Logger;
}

export class WaveCoordinator {
  private generation = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** Current wave, for the API. */
  current: { revision: string; canary: string | null; shards: string[]; status: 'canary' | 'halted' | 'released' } | null = null;

  constructor(private readonly o: WaveOptions) {}

  /** Call after `desired` changed on any shard. */
  submit(): void {
    this.generation++;
    this.o.state.events.emit('wave-generation');
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = null;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.o.state.events.emit('wave-generation');
    await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.run(this.generation);
      } catch (err) {
        this.o.log.error('wave failed', { error: err });
      }
    } while (this.again && !this.closed);
  }

  private release(s: ShardState): void {
    if (!s.desired || s.released?.hash === s.desired.hash) return;
    s.released = s.desired;
    s.releasedRef = s.desiredRef;
    s.heldBy = null;
    this.o.workerFor(s.name).kick();
  }

  private async run(generation: number): Promise<void> {
    for (const s of this.o.state.shards.values()) s.heldBy = null; // a new wave: earlier holds no longer apply
    const changed = [...this.o.state.shards.values()].filter((s) => s.desired && s.desired.hash !== s.released?.hash).sort((a, b) => (a.name < b.name ? -1 : 1));
    if (changed.length === 0) return;
    const revision = [...changed].sort((a, b) => b.desired!.generation - a.desired!.generation)[0].desired!.revision;
    if (changed.length === 1) {
      this.current = { revision, canary: null, shards: [changed[0].name], status: 'released' };
      this.release(changed[0]);
      return;
    }
    const canary = changed.find((s) => s.name === this.o.canaryShard) ?? changed[0];
    const names = changed.map((s) => s.name);
    this.current = { revision, canary: canary.name, shards: names, status: 'canary' };
    this.o.state.record({ type: 'wave-started', shard: canary.name, revision, message: `wave of ${names.length} shards: canary ${canary.name} first` });
    this.release(canary);
    const hash = canary.released!.hash;
    let reportedHalt = false;
    for (;;) {
      const outcome = await this.waitFor(canary.name, hash, generation, reportedHalt);
      if (outcome === 'aborted') return;
      if (outcome === 'ok') break;
      reportedHalt = true;
      this.current.status = 'halted';
      for (const s of changed) {
        if (s === canary) continue;
        s.heldBy = `the wave of ${revision.slice(0, 12)} halted: its canary shard ${canary.name} failed, so this shard keeps its configuration`;
        this.o.state.shardChanged(s.name);
      }
      this.o.state.record({ type: 'wave-halted', shard: canary.name, revision, message: `canary shard ${canary.name} failed; ${names.length - 1} other shards keep their configuration` });
    }
    this.current.status = 'released';
    for (const s of changed) if (s !== canary) this.release(s);
    this.o.state.record({ type: 'wave-done', revision, message: `canary ${canary.name} proven; released to ${names.length - 1} more shards` });
  }

  /** Resolves when the canary settles (ok / failed unless `failedSeen`), or a newer wave starts. */
  private waitFor(shard: string, hash: string, generation: number, failedSeen: boolean): Promise<'ok' | 'failed' | 'aborted'> {
    return new Promise((resolve) => {
      const events = this.o.state.events;
      // Runs from a timer and from event listeners, where a throw would be uncaught.
      const check = () => {
        try {
          if (this.closed || this.generation !== generation) return done('aborted');
          const s = settlement(this.o.registry.replicasOf(shard), hash);
          if (s === 'ok') return done('ok');
          if (s === 'failed' && !failedSeen) return done('failed');
        } catch (err) {
          this.o.log.error('checking the canary failed', { shard, error: err });
        }
      };
      const timer = setInterval(check, 250);
      const done = (v: 'ok' | 'failed' | 'aborted') => {
        clearInterval(timer);
        events.off('shard', check);
        events.off('wave-generation', check);
        resolve(v);
      };
      events.on('shard', check);
      events.on('wave-generation', check);
      check();
    });
  }
}
