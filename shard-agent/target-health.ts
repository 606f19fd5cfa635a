// GET /v1/targets?job=…: the active targets of some scrape pools, read from this agent's Prometheus
// (`/api/v1/targets?state=active`), so the controller can tell a revision's author whether the
// targets it added are up, and if not, Prometheus's own error (connection refused, 401, timeout).
import type { AgentTarget, AgentTargets } from '../core/protocol/agent-api.ts';
import { PrometheusUnreachable, type PrometheusActiveTarget, type PrometheusClient } from './prometheus-client.ts';

/** Jobs per call: the controller asks for the jobs one revision added or changed on one shard. */
export const MAX_JOBS_PER_CALL = 200;

export async function readTargets(prometheus: PrometheusClient, jobs: readonly string[]): Promise<AgentTargets> {
  let active: PrometheusActiveTarget[];
  try {
    active = await prometheus.activeTargets();
  } catch (err) {
    if (err instanceof PrometheusUnreachable) return { prometheusReachable: false, targets: [] };
    throw err;
  }
  const wanted = new Set(jobs);
  const targets: AgentTarget[] = [];
  for (const t of active) {
    if (typeof t.scrapePool !== 'string' || !wanted.has(t.scrapePool)) continue;
    const address = t.discoveredLabels?.__address__;
    targets.push({
      job: t.scrapePool,
      address: typeof address === 'string' ? address : '',
      health: t.health === 'up' || t.health === 'down' ? t.health : 'unknown',
      lastError: typeof t.lastError === 'string' ? t.lastError : '',
      lastScrape: scrapeTime(t.lastScrape),
    });
  }
  return { prometheusReachable: true, targets };
}

/** Prometheus answers the zero time (year 1) before a target's first scrape. */
function scrapeTime(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  if (!Number.isFinite(ms) || ms <= 0) return null;
  return new Date(ms).toISOString();
}
