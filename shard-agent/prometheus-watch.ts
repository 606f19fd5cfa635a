// Probes the local Prometheus on an interval so that status and metrics say whether it answers, and so
// that a configuration written while it was down is verified as soon as it is back.
import type { Logger } from '../core/log/logger.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import type { ApplyPipeline } from './apply-pipeline.ts';
import type { PrometheusClient } from './prometheus-client.ts';

export function startPrometheusWatch(o: { pipeline: ApplyPipeline; client: PrometheusClient; metrics: AgentMetrics; log: Logger; intervalMs: number }): { stop(): Promise<void>; probeNow(): Promise<void> } {
  let stopped = false;
  let running: Promise<void> | null = null;
  let lastUp: boolean | null = null;

  const probe = async () => {
    const up = await o.client.ready();
    if (stopped) return;
    if (up !== lastUp) (up ? o.log.info : o.log.warn)(up ? 'Prometheus is reachable' : 'Prometheus is unreachable', { prometheus: o.client.baseUrl });
    lastUp = up;
    // An apply in progress owns the verdict; the probe only fills the gaps between applies.
    if (!o.pipeline.applying) o.pipeline.observePrometheus(up);
    o.metrics.prometheusUp.set(up ? 1 : 0);
    const a = o.pipeline.applied;
    if (up && a && !a.verified && !o.pipeline.applying) await o.pipeline.verifyPending();
  };
  const tick = () => {
    if (stopped || running) return;
    running = probe()
      .catch((err) => o.log.error('Prometheus probe failed', { error: err }))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, o.intervalMs);
  timer.unref();
  tick();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    async probeNow() {
      while (running) await running;
      tick();
      await running;
    },
  };
}
