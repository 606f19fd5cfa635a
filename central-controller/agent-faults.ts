// Bookkeeping of agents that answer outside the protocol. A bad answer marks the agent faulty (with
// the reason, on its record), counts it, logs it, and puts it on the timeline when the agent turns
// faulty; nothing of the answer is kept, and nothing else changes: other agents, the pages and the
// rollouts carry on. A correct answer on the same endpoint clears that endpoint's mark.
import type { Logger } from '../core/log/logger.ts';
import type { AgentEndpoint } from './agent-client.ts';
import { faultOf, type AgentRecord } from './agent-registry.ts';
import type { ControllerMetrics } from './controller-metrics.ts';
import type { ControllerState } from './controller-state.ts';

export class AgentFaults {
  constructor(private readonly o: { state: ControllerState; metrics: ControllerMetrics; log: Logger }) {}

  fault(rec: AgentRecord, endpoint: AgentEndpoint, reason: string): void {
    const wasFaulty = faultOf(rec) !== null;
    (rec.faults ??= {})[endpoint] = { reason, at: new Date().toISOString() };
    this.o.metrics.agentProtocolErrors.inc({ shard: rec.shard, replica: rec.replica, endpoint });
    this.o.log.warn('agent answered outside the protocol; nothing of the answer is used', { shard: rec.shard, replica: rec.replica, endpoint, reason });
    if (!wasFaulty) this.o.state.record({ type: 'agent-faulty', shard: rec.shard, replica: rec.replica, error: reason, message: `agent ${rec.key} is faulty: its ${endpoint} answer does not fit the protocol (${reason})` });
    this.o.state.shardChanged(rec.shard);
  }

  ok(rec: AgentRecord, endpoint: AgentEndpoint): void {
    if (!rec.faults?.[endpoint]) return;
    delete rec.faults[endpoint];
    if (faultOf(rec) === null) this.o.log.info('agent answers within the protocol again', { shard: rec.shard, replica: rec.replica, endpoint });
    this.o.state.shardChanged(rec.shard);
  }
}
