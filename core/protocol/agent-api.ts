// The wire contract between shard agents and the central controller. Both sides import these types.
//
// Agent endpoints (bearer token = the agent's own credential, or the admin token; force = admin only):
//   POST /v1/apply[?force=true]   body: DesiredDocument            → ApplyResponse
//   GET  /v1/status                                                → AgentStatus
//   GET  /v1/flags                                                 → { flags: CardinalityFlag[] }
//   POST /v1/cardinality/analyze                                   → { flags: CardinalityFlag[] }
//   GET  /metrics, GET /healthz                                    (no token)
//
// Controller endpoints used by agents (bearer token = the agent's own credential, valid for its own
// shard and replica only; see core/http/agent-credential.ts):
//   POST /v1/agents/register      body: AgentRegistration          → { ok: true }
//   POST /v1/agents/report        body: AgentReport                → { ok: true }
//   GET  /v1/agents/desired?shard=S&replica=R                      → DesiredDocument | 404

export type ApplyResult =
  | 'applied' // written, reloaded, and the reload proven
  | 'unchanged' // same configuration hash already applied: nothing touched
  | 'written-unverified' // Prometheus unreachable: files written, verification pending
  | 'rolled-back' // Prometheus refused the new configuration (or it could not be proven); previous files restored
  | 'rejected' // refused before touching anything (bad hash, path, stale revision, promtool)
  | 'superseded'; // a newer push arrived while this one waited; it was skipped

export interface ApplyResponse {
  result: ApplyResult;
  shard: string;
  revision: string;
  hash: string;
  /** Prometheus's or promtool's own error text when result is rolled-back or rejected. */
  error?: string;
  reloadMs?: number;
  applyMs?: number;
  /** Only with `written-unverified`: why Prometheus is down, as far as this agent can tell. */
  prometheusDown?: PrometheusDown;
  /** The highest leader term this agent has seen (Kubernetes mode); with a fencing 409 it tells a deposed leader to step down. */
  term?: number;
}

/**
 * `before-document`: Prometheus was already down before this document was written, and no document was
 * loaded shortly before the outage began, so the document cannot have caused it: the controller skips
 * the replica and rolls on, and the agent proves the written files when Prometheus returns.
 * `with-document`: Prometheus went down while this document was being loaded, or within the agent's
 * blame window after a document was loaded: that configuration may be poisoned, so the rollout halts.
 */
export interface PrometheusDown {
  /** When the agent first found Prometheus down, ISO 8601 (the agent's clock). */
  since: string;
  cause: 'before-document' | 'with-document';
  /** The agent's explanation, shown on the controller's status and timeline. */
  reason: string;
}

export interface ApplyRecord {
  revision: string;
  generation: number;
  hash: string;
  result: ApplyResult;
  error?: string;
  startedAt: string;
  finishedAt: string;
  applyMs: number;
  reloadMs?: number;
}

export interface AgentStatus {
  shard: string;
  replica: string;
  /** Where the controller can reach this agent. */
  url: string;
  /** What Prometheus runs now (proven), or what is written but not yet verified. */
  applied: {
    revision: string;
    /** The document's generation: the agent refuses a lower one (and another document at the same one). */
    generation: number;
    hash: string;
    appliedAt: string;
    verified: boolean;
  } | null;
  lastResult: ApplyRecord | null;
  prometheusReachable: boolean;
  /** When the agent first found Prometheus down in the current outage (ISO 8601); null while it answers. */
  prometheusDownSince: string | null;
  applying: boolean;
  recent: ApplyRecord[];
  /** Number of cardinality flags currently raised. */
  flagCount: number;
  /** The highest leader term seen (Kubernetes mode; 0 when none): pushes from a lower term are refused with 409. Absent from agents before fencing. */
  term?: number;
}

export interface AgentRegistration {
  shard: string;
  replica: string;
  url: string;
}

export interface AgentReport extends AgentRegistration {
  status: AgentStatus;
}

/** GET /v1/usage: per-job series and targets measured by the agent's last cardinality cycle. */
export interface AgentUsage {
  measuredAt: string | null;
  headSeries: number | null;
  jobs: { job: string; series: number; targets: number }[];
}

/**
 * GET /v1/targets?job=J[&job=J…]: the agent's Prometheus's active targets of those scrape pools
 * (`/api/v1/targets`), for the controller's per-revision target health. At most 200 jobs per call.
 */
export interface AgentTargets {
  /** false when Prometheus did not answer: `targets` is then empty and says nothing. */
  prometheusReachable: boolean;
  targets: AgentTarget[];
}

export interface AgentTarget {
  /** The scrape pool (the job name). */
  job: string;
  /** The address as configured (Prometheus's discovered `__address__`). */
  address: string;
  health: 'up' | 'down' | 'unknown';
  /** Prometheus's error for the last scrape; empty when it succeeded. */
  lastError: string;
  /** Start of the last scrape (ISO 8601); null before the first one. */
  lastScrape: string | null;
}
