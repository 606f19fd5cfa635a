// The controller's own metrics on its own registry (several controllers may share a test process).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const COMMIT_TO_APPLIED_BUCKETS = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120];

export function createControllerMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  // Gauges derived from state are refreshed when scraped (and by the reconcile loop).
  let refresh: () => void = () => undefined;
  let kubernetesRefresh: () => void = () => undefined;
  const m = {
    registry,
    onCollect(fn: () => void) {
      refresh = fn;
    },
    pushDuration: new Histogram({
      name: 'promshard_controller_push_duration_seconds',
      help: 'Duration of one push of a desired document to one agent (including its reload and proof).',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    pushesTotal: new Counter({ name: 'promshard_controller_pushes_total', help: 'Pushes to agents by result (an ApplyResult, or error when the agent could not be reached).', labelNames: ['result'], registers: [registry] }),
    rolloutsTotal: new Counter({ name: 'promshard_controller_rollouts_total', help: 'Shard rollouts by outcome (succeeded, failed, superseded).', labelNames: ['outcome'], registers: [registry] }),
    agents: new Gauge({
      name: 'promshard_controller_agents',
      help: 'Known agents by replica state.',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        refresh();
      },
    }),
    repositoryValid: new Gauge({ name: 'promshard_controller_repository_valid', help: '1 when the head commit of the followed branch compiles without errors, 0 otherwise.', registers: [registry] }),
    quarantinedFiles: new Gauge({
      name: 'promshard_controller_quarantined_files',
      help: 'Team files with error findings served at their last good version (or left out) while everything else rolls out, by team.',
      labelNames: ['team'],
      registers: [registry],
    }),
    lastSync: new Gauge({ name: 'promshard_controller_last_sync_timestamp_seconds', help: 'Time of the last successful fetch of the repository.', registers: [registry] }),
    commitToApplied: new Histogram({
      name: 'promshard_controller_commit_to_applied_seconds',
      help: 'From the controller receiving a commit (webhook or poll) to one replica proving its reload of it.',
      buckets: COMMIT_TO_APPLIED_BUCKETS,
      registers: [registry],
    }),
    commitToFirstScrape: new Histogram({
      name: 'promshard_controller_commit_to_first_scrape_seconds',
      help: 'From the controller receiving a commit to the first successful scrape of a target that commit added or changed (once per target, as its Prometheus reports it).',
      buckets: COMMIT_TO_APPLIED_BUCKETS,
      registers: [registry],
    }),
    shardInSync: new Gauge({ name: 'promshard_controller_shard_in_sync', help: '1 when every known replica of the shard runs the desired document.', labelNames: ['shard'], registers: [registry] }),
    rolloutLag: new Gauge({ name: 'promshard_controller_rollout_lag_seconds', help: 'Seconds since the desired commit was received, while the shard is not in sync (0 when in sync).', labelNames: ['shard'], registers: [registry] }),
    cardinalityFlags: new Gauge({ name: 'promshard_controller_cardinality_flags', help: 'Cardinality flags raised by agents, by owning team and shard.', labelNames: ['team', 'shard'], registers: [registry] }),
    desiredGeneration: new Gauge({ name: 'promshard_controller_desired_generation', help: 'Generation of the last good revision (only ever increases; independent of git history).', registers: [registry] }),
    eventStreamsOpen: new Gauge({ name: 'promshard_controller_event_streams_open', help: 'Server-sent event streams open now, by endpoint (api = /v1/events/stream, dashboard = /dashboard/events).', labelNames: ['endpoint'], registers: [registry] }),
    eventStreamsRejected: new Counter({
      name: 'promshard_controller_event_streams_rejected_total',
      help: 'Server-sent event streams refused with 429, by endpoint and by the bound reached (per-client or total).',
      labelNames: ['endpoint', 'reason'],
      registers: [registry],
    }),
    uncaughtErrors: new Counter({
      name: 'promshard_controller_uncaught_errors_total',
      help: 'Exceptions and rejections that reached the process-level last-resort guard (each one is a bug; the controller keeps running).',
      labelNames: ['kind'],
      registers: [registry],
    }),
    kubernetesWatchRestarts: new Counter({
      name: 'promshard_controller_kubernetes_watch_restarts_total',
      help: 'Restarts of the Kubernetes pod list/watch, by reason: gone (410, relisted), watchdog (silent past the bound, relisted), forbidden (403), unauthorized (401), list-timeout, error.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    kubernetesWatchLastEventAge: new Gauge({
      name: 'promshard_controller_kubernetes_watch_last_event_age_seconds',
      help: 'Seconds since the pod watch of each namespace last delivered anything (event, bookmark or completed list); computed at scrape.',
      labelNames: ['namespace'],
      registers: [registry],
      collect() {
        kubernetesRefresh();
      },
    }),
    kubernetesPodsDiscovered: new Gauge({
      name: 'promshard_controller_kubernetes_pods_discovered',
      help: 'Agents known from Kubernetes pods, by whether the pod is Ready.',
      labelNames: ['ready'],
      registers: [registry],
      collect() {
        kubernetesRefresh();
      },
    }),
    kubernetesDiscoveryUp: new Gauge({
      name: 'promshard_controller_kubernetes_discovery_up',
      help: '1 while the pod list/watch of the namespace works, 0 while it fails (e.g. a 403 from RBAC; see /v1/kubernetes).',
      labelNames: ['namespace'],
      registers: [registry],
      collect() {
        kubernetesRefresh();
      },
    }),
    /** Kubernetes mode sets what refreshes its gauges at scrape. */
    onKubernetesCollect(fn: () => void) {
      kubernetesRefresh = fn;
    },
    agentProtocolErrors: new Counter({
      name: 'promshard_controller_agent_protocol_errors_total',
      help: 'Answers and reports from agents that did not match the protocol schema (the agent is marked faulty; nothing of the answer is kept).',
      labelNames: ['shard', 'replica', 'endpoint'],
      registers: [registry],
    }),
    reshardActive: new Gauge({ name: 'promshard_controller_reshard_active', help: '1 for each shard being resharded, by phase (overlap: moved targets scraped by their old and new unit; retiring: units of the old layout getting a document that scrapes nothing).', labelNames: ['shard', 'phase'], registers: [registry] }),
    reshardTargets: new Gauge({ name: 'promshard_controller_reshard_moved_targets', help: 'Static targets that change unit in a reshard in progress, by state (kept-twice: still scraped by the old unit too; handed-over: seen scraped by the new unit).', labelNames: ['shard', 'state'], registers: [registry] }),
    reshardOverlapSeconds: new Histogram({ name: 'promshard_controller_reshard_overlap_seconds', help: 'How long a reshard kept moved targets on both units, from the revision that changed the layout to the handover.', buckets: [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200], registers: [registry] }),
    isLeader: new Gauge({ name: 'promshard_controller_is_leader', help: '1 while this controller leads (may push); always 1 outside Kubernetes mode.', registers: [registry] }),
    leaderTerm: new Gauge({ name: 'promshard_controller_leader_term', help: 'Term of the current leadership as this controller knows it (its own while it leads, else the Lease\'s); 0 outside Kubernetes mode.', registers: [registry] }),
    leadershipTransitions: new Counter({ name: 'promshard_controller_leadership_transitions_total', help: 'Times this controller became leader (to="leader") or stepped down (to="follower").', labelNames: ['to'], registers: [registry] }),
    leaseErrors: new Counter({ name: 'promshard_controller_lease_errors_total', help: 'Failed or timed-out Lease API calls of the leader election (RBAC refusals, unreachable API), by HTTP status (none when there was no answer).', labelNames: ['code'], registers: [registry] }),
  };
  return m;
}

export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;
