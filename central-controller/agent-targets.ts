// GET /v1/targets on one agent, as the target health watch and the reshard coordinator both ask it:
// the agent's fault mark for `targets` follows the answer, and an answer is only of use when the
// agent's Prometheus answered it.
import type { AgentTargets } from '../core/protocol/agent-api.ts';
import { AgentProtocolError, type AgentClient } from './agent-client.ts';
import type { AgentFaults } from './agent-faults.ts';
import type { AgentRecord } from './agent-registry.ts';

/** The agent's Prometheus's targets of `jobs` (the first 200: the protocol's limit per call), or null. */
export async function askTargets(client: AgentClient, faults: AgentFaults, agent: AgentRecord, jobs: readonly string[], timeoutMs?: number): Promise<AgentTargets | null> {
  try {
    const answer = await client.targets(agent, jobs.slice(0, 200), timeoutMs);
    faults.ok(agent, 'targets');
    return answer.prometheusReachable ? answer : null;
  } catch (err) {
    if (err instanceof AgentProtocolError) faults.fault(agent, 'targets', err.reason);
    return null;
  }
}
