// What the HTTP layer (and a dashboard module) needs from a running controller.
import type { Logger } from '../core/log/logger.ts';
import type { AgentFaults } from './agent-faults.ts';
import type { AgentRecord } from './agent-registry.ts';
import type { ControllerState } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { EventStreams } from './event-streams.ts';
import type { WaveCoordinator } from './wave-coordinator.ts';
import type { Leadership } from './kubernetes/leadership.ts';
import type { KubernetesDiscoveryStatus } from './kubernetes/agent-discovery.ts';
import type { ReshardView } from './resharding/reshard-coordinator.ts';

export interface ControllerRuntime {
  /** Kubernetes agent discovery's state (central-controller/kubernetes/); absent outside Kubernetes mode. */
  kubernetes?: () => KubernetesDiscoveryStatus;
  state: ControllerState;
  metrics: ControllerMetrics;
  log: Logger;
  /** Fetch now; resolves when a fetch that began after the call has finished (rejects if it failed). */
  sync(reason: string, receivedAt?: number): Promise<void>;
  /** Ask the shard's rollout worker to run a pass. */
  kickShard(shard: string): void;
  /** GET /v1/status of one agent into the registry. */
  pollStatus(agent: AgentRecord): Promise<void>;
  wave(): WaveCoordinator['current'];
  /**
   * Run `fn` when the controller closes. Returns the function that unregisters it: anything shorter-
   * lived than the controller must call it when it ends, or the hook (and all it holds) stays forever.
   */
  onClose(fn: () => void): () => void;
  /** Hooks registered with onClose and not yet removed (a leak shows here first). */
  closeHookCount(): number;
  /** Marks agents that answer (or report) outside the protocol faulty, and clears the mark. */
  faults: AgentFaults;
  /** The open server-sent event streams of both endpoints, with their per-client and total bounds. */
  streams: EventStreams;
  /** Whether this controller leads (Kubernetes mode) and its term; outside Kubernetes it always leads. Anything that changes the fleet or writes status asks first. */
  leadership: Leadership;
  /** Shards being resharded, and the last ones that were (resharding/). */
  reshards: () => { active: ReshardView[]; recent: ReshardView[] };
}

/** The set behind onClose: hooks unregister themselves, and one failing hook does not skip the rest. */
export class CloseHooks {
  private readonly hooks = new Set<() => void>();

  constructor(private readonly log: Logger) {}

  add(fn: () => void): () => void {
    // A wrapper per registration, so that registering the same function twice still needs two removals.
    const hook = () => fn();
    this.hooks.add(hook);
    return () => void this.hooks.delete(hook);
  }

  get size(): number {
    return this.hooks.size;
  }

  runAll(): void {
    const hooks = [...this.hooks];
    this.hooks.clear();
    for (const fn of hooks) {
      try {
        fn();
      } catch (err) {
        this.log.error('close hook failed', { error: err });
      }
    }
  }
}
