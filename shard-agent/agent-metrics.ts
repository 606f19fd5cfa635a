// The agent's own metrics, on a Registry per agent so several agents can run in one process (tests, demo).
// prom-client's pieces without its index (core/metrics/prom-client-lean.ts): about 8 MB less RSS.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from '../core/metrics/prom-client-lean.ts';
import type { ApplyResult } from '../core/protocol/agent-api.ts';

export interface AgentMetrics {
  registry: Registry;
  appliesTotal: Counter<'result'>;
  applyDuration: Histogram;
  reloadDuration: Histogram;
  appliedRevisionInfo: Gauge<'revision' | 'hash'>;
  appliedGeneration: Gauge;
  /** The highest leader term seen (Kubernetes mode; 0 when none). */
  leaderTerm: Gauge;
  appliedVerified: Gauge;
  lastSuccessTimestamp: Gauge;
  prometheusUp: Gauge;
  reportsDroppedTotal: Counter;
  reportQueueLength: Gauge;
  controllerErrorsTotal: Counter<'operation'>;
  setApplied(applied: { revision: string; hash: string; generation: number; verified: boolean } | null): void;
  countApply(result: ApplyResult): void;
}

const RESULTS: ApplyResult[] = ['applied', 'unchanged', 'written-unverified', 'rolled-back', 'rejected', 'superseded'];

export function createAgentMetrics(opts: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}): AgentMetrics {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics ?? true) collectDefaultMetrics(registry);
  const registers = [registry];
  const appliesTotal = new Counter({ name: 'promshard_agent_applies_total', help: 'Apply requests by result.', labelNames: ['result'] as const, registers });
  for (const r of RESULTS) appliesTotal.inc({ result: r }, 0);
  const m: AgentMetrics = {
    registry,
    appliesTotal,
    applyDuration: new Histogram({
      name: 'promshard_agent_apply_duration_seconds',
      help: 'Time from an apply starting to its outcome (reload proven, rolled back, or written unverified).',
      buckets: [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30],
      registers,
    }),
    reloadDuration: new Histogram({
      name: 'promshard_agent_reload_duration_seconds',
      help: 'Time from asking Prometheus to reload to the reload being proven or refused.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
      registers,
    }),
    appliedRevisionInfo: new Gauge({ name: 'promshard_agent_applied_revision_info', help: 'The revision and configuration hash on disk (1).', labelNames: ['revision', 'hash'] as const, registers }),
    appliedGeneration: new Gauge({ name: 'promshard_agent_applied_generation', help: 'Generation of the applied document (only ever increases; independent of git history).', registers }),
    leaderTerm: new Gauge({ name: 'promshard_agent_leader_term', help: 'Highest leader term seen on a push (Kubernetes mode; 0 when none): pushes from a lower term are refused with 409.', registers }),
    appliedVerified: new Gauge({ name: 'promshard_agent_applied_verified', help: '1 when Prometheus was shown to run the applied configuration, 0 while verification is pending.', registers }),
    lastSuccessTimestamp: new Gauge({ name: 'promshard_agent_last_success_timestamp_seconds', help: 'When an apply last ended applied (reload proven) or unchanged.', registers }),
    prometheusUp: new Gauge({ name: 'promshard_agent_prometheus_up', help: '1 when the local Prometheus answered the last probe.', registers }),
    reportsDroppedTotal: new Counter({ name: 'promshard_agent_reports_dropped_total', help: 'Status reports dropped (oldest first) because the report queue was full.', registers }),
    reportQueueLength: new Gauge({ name: 'promshard_agent_report_queue_length', help: 'Status reports waiting to be sent to the controller.', registers }),
    controllerErrorsTotal: new Counter({ name: 'promshard_agent_controller_errors_total', help: 'Failed calls to the controller by operation.', labelNames: ['operation'] as const, registers }),
    setApplied(applied) {
      m.appliedRevisionInfo.reset();
      if (!applied) return;
      m.appliedRevisionInfo.set({ revision: applied.revision, hash: applied.hash }, 1);
      m.appliedGeneration.set(applied.generation);
      m.appliedVerified.set(applied.verified ? 1 : 0);
    },
    countApply(result) {
      m.appliesTotal.inc({ result });
    },
  };
  return m;
}
