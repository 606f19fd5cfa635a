// What the HTTP layer (and a dashboard module) needs from a running controller.
import type { Logger } from '../core/log/logger.ts';
import type { AgentRecord } from './agent-registry.ts';
import type { ControllerState } from './controller-state.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { WaveCoordinator } from './wave-coordinator.ts';

export interface ControllerRuntime {
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
  /** Run `fn` when the controller closes (long-lived responses such as the event stream). */
  onClose(fn: () => void): void;
}
