// Programmatic entry point: everything `promshard controller` does, startable in-process by tests,
// the demo and the benchmarks.
import { setMaxListeners } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Express } from 'express';
import { listen, parseListenAddress } from '../core/http/server.ts';
import { createLogger, type Logger } from '../core/log/logger.ts';
import { AgentClient } from './agent-client.ts';
import { AgentFaults } from './agent-faults.ts';
import { AgentRegistry, type AgentRecord } from './agent-registry.ts';
import type { Tokens } from './api/auth-guards.ts';
import { createControllerApp } from './controller-app.ts';
import { createControllerMetrics, type ControllerMetrics } from './controller-metrics.ts';
import { ControllerState } from './controller-state.ts';
import { GitFollower } from './git-follower.ts';
import { Pusher } from './pusher.ts';
import { Reconciler } from './reconciler.ts';
import { RepositorySync } from './repository-sync.ts';
import { RevisionRecorder } from './revision-recorder.ts';
import { TargetHealthWatch } from './target-health-watch.ts';
import { ReshardBook } from './resharding/reshard-book.ts';
import { ReshardCoordinator } from './resharding/reshard-coordinator.ts';
import { CloseHooks, type ControllerRuntime } from './runtime.ts';
import { hostname } from 'node:os';
import { LeaderElector, type LeaderElectorOptions } from './kubernetes/leader-election.ts';
import { AgentDiscovery, type KubernetesDiscoveryOptions } from './kubernetes/agent-discovery.ts';
import { soleController, type Leadership } from './kubernetes/leadership.ts';
import { KubeEventRecorder, recordRolloutEvents, type EventSink } from './kubernetes/events.ts';
import { DEFAULT_EVENT_STREAM_LIMITS, EventStreams } from './event-streams.ts';
import { mapBounded, Semaphore } from './semaphore.ts';
import { ShardWorker } from './shard-worker.ts';
import { CommitStatusReporter, type CommitStatusReporterOptions } from './commit-status/commit-status-reporter.ts';
import { readAgentsFile } from './static-agents.ts';
import { WaveCoordinator } from './wave-coordinator.ts';
import type { AgentRegistration } from '../core/protocol/agent-api.ts';
import { deriveAgentToken, type AgentScope } from '../core/http/agent-credential.ts';

export interface StartControllerOptions {
  /** URL or local path of the configuration repository. */
  repo: string;
  branch?: string; // default main
  /** HOST:PORT; default 127.0.0.1:0 (ephemeral; read `url`). */
  listen?: string;
  stateDir: string;
  /** Admin token (all endpoints). */
  token: string;
  /** Read-only token (GET endpoints). */
  readToken?: string;
  /**
   * Per-agent credentials: the secret each agent's token is derived from (`promshard agent-token`).
   * The controller then accepts from an agent only its own credential, for its own shard and replica,
   * and presents to each agent that agent's own credential.
   */
  agentSecret?: string;
  /**
   * Legacy shared mode, insecure (any agent host can act as any replica): one token used to call
   * every agent and accepted from every agent. Without `agentSecret` it defaults to `token`.
   */
  agentToken?: string;
  webhookSecret: string;
  pollMs?: number; // default 30 s; 0 disables polling
  reconcileMs?: number; // default 10 s
  /** An agent silent this long is unreachable; default 3 × 10 s (agents' default heartbeat). */
  heartbeatTimeoutMs?: number;
  /** How often agents' measured series usage is re-read (default 30 s). */
  usageRefreshMs?: number;
  /** Static agents (in addition to --agents-file). */
  agents?: AgentRegistration[];
  agentsFile?: string;
  repoSubdir?: string;
  openReadAccess?: boolean;
  canaryShard?: string;
  concurrency?: number; // default 8
  pushTimeoutMs?: number; // default 30 s
  pushRetries?: number; // default 3 (transport failures only)
  retryBaseMs?: number; // default 250 ms
  retryMaxMs?: number; // default 5 s
  /** Retry of a replica that refused a document; default base = reconcile interval, max 5 min. */
  failureRetryBaseMs?: number;
  failureRetryMaxMs?: number;
  statusTimeoutMs?: number; // default 3 s
  webhookMaxBytes?: number; // default 1 MiB
  /** Server-sent event streams open at once, over /v1/events/stream and /dashboard/events (default 1000). */
  maxEventStreams?: number;
  /** … from one client address (default 32). */
  maxEventStreamsPerClient?: number;
  /** How long a dashboard session cookie is honoured after sign-in; default 12 h. */
  dashboardSessionMs?: number;
  /** The global view (where the shards' remote_write lands), linked from the dashboard's header. http(s) only. */
  globalViewUrl?: string;
  log?: Logger;
  logWrite?: (line: string) => void;
  defaultMetrics?: boolean;
  /** Target health of each revision's new targets: poll interval (default 1 s) and bound (default 2 min). */
  targetHealthPollMs?: number;
  targetHealthBoundMs?: number;
  /** Resharding (resharding/): the longest overlap of a layout change (default 10 min) and how often its new units are asked (default 1 s). */
  reshardBoundMs?: number;
  reshardPollMs?: number;
  /**
   * Kubernetes mode: elect a leader on a Lease (central-controller/kubernetes/leader-election.ts). Only
   * the leader pushes, repairs and answers pulls; followers follow git, compile and serve the read API.
   */
  leaderElection?: Omit<LeaderElectorOptions, 'log' | 'agentsTerm' | 'onError'>;
  /**
   * Kubernetes mode: the leader records Events on each shard's StatefulSet (central-controller/kubernetes/events.ts),
   * named by `statefulSet` (default `prometheus-<shard>`), in its pods' namespace (else `namespace`).
   */
  kubernetesEvents?: { sink: EventSink; namespace: string; statefulSet?: (shard: string) => string; aggregateWindowMs?: number; burst?: number; refillMs?: number };
  /** Kubernetes mode: find agents as Pods through the API (central-controller/kubernetes/agent-discovery.ts). */
  kubernetes?: KubernetesDiscoveryOptions;
  /**
   * Report each revision's rollout on its commit through the git host's status API
   * (central-controller/commit-status/); never on the rollout's path.
   */
  commitStatus?: Pick<CommitStatusReporterOptions, 'host' | 'externalUrl' | 'queue'>;
  /** Add routes (the dashboard) to the app before the API's 404 handler. */
  extraRoutes?: Parameters<typeof createControllerApp>[1]['extraRoutes'];
}

export interface RunningController {
  url: string;
  port: number;
  app: Express;
  state: ControllerState;
  metrics: ControllerMetrics;
  runtime: ControllerRuntime;
  /** Fetch and compile now; resolves when done. */
  syncNow(): Promise<void>;
  /** One reconcile round now. */
  reconcileNow(): Promise<void>;
  close(): Promise<void>;
}

export async function startController(opts: StartControllerOptions): Promise<RunningController> {
  const log = opts.log ?? createLogger({ component: 'controller', write: opts.logWrite });
  // Rendered as a link on every page: anything but http(s) (javascript:, data:) would run in the dashboard's origin.
  if (opts.globalViewUrl !== undefined && !/^https?:\/\/[^\s/]/i.test(opts.globalViewUrl)) throw new Error(`--global-view-url must be an http:// or https:// URL, not ${JSON.stringify(opts.globalViewUrl.slice(0, 80))}`);
  const branch = opts.branch ?? 'main';
  const reconcileMs = opts.reconcileMs ?? 10_000;
  const pollMs = opts.pollMs ?? 30_000;
  // Pushes wait on agents' reloads (I/O, not CPU): 32 in flight reaches 400 agents in ~4.5 s on 2 cores, 8 took ~7 s.
  const concurrency = opts.concurrency ?? 32;
  mkdirSync(opts.stateDir, { recursive: true });

  if (opts.agentSecret && opts.agentToken) throw new Error('give agents either their own credentials (agent secret) or the legacy shared agent token, not both');
  const tokens: Tokens = opts.agentSecret ? { admin: opts.token, read: opts.readToken, agentSecret: opts.agentSecret } : { admin: opts.token, read: opts.readToken, agent: opts.agentToken ?? opts.token };
  if (!opts.agentSecret) {
    log.warn(
      opts.agentToken
        ? 'agents share one token (legacy mode): any agent host can act as any replica of any shard; give each agent its own credential with --agent-secret-file (docs/operations.md)'
        : 'agents use the admin token (legacy mode): every agent host holds full control of the fleet; give each agent its own credential with --agent-secret-file (docs/operations.md)',
    );
  }
  const registry = new AgentRegistry(opts.stateDir);
  const loaded = registry.load();
  const statics = [...(opts.agents ?? []), ...(opts.agentsFile ? readAgentsFile(opts.agentsFile) : [])];
  for (const a of statics) registry.addStatic(a.shard, a.replica, a.url);

  // The generation survives a restart here; with an empty state directory it is recovered from the agents.
  const state = new ControllerState(registry, { repo: opts.repo, branch }, { generationFile: join(opts.stateDir, 'generation.json') });
  const metrics = createControllerMetrics({ defaultMetrics: opts.defaultMetrics });
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // every push in flight listens to it
  // Each agent is shown its own credential, so an agent host (or whoever answers at its address)
  // learns nothing that works at another agent.
  const agentSecret = tokens.agentSecret;
  const presented = agentSecret ? (a: AgentScope) => deriveAgentToken(agentSecret, a) : () => tokens.agent ?? tokens.admin;
  const client = new AgentClient(presented, opts.pushTimeoutMs ?? 30_000, abort.signal);
  const faults = new AgentFaults({ state, metrics, log });
  const elector = opts.leaderElection
    ? new LeaderElector({
        ...opts.leaderElection,
        log: log.child({ component: 'leader-election' }),
        // A new term goes above every term an agent has reported, even if the Lease was recreated.
        agentsTerm: () => registry.all().reduce((max, a) => Math.max(max, a.term ?? 0), 0),
        onError: (code) => metrics.leaseErrors.inc({ code: code === null ? 'none' : String(code) }),
      })
    : null;
  const leadership: Leadership = elector ?? soleController(hostname());
  const pusher = new Pusher({
    client,
    faults,
    state,
    metrics,
    log,
    semaphore: new Semaphore(concurrency),
    retries: opts.pushRetries ?? 3,
    retryBaseMs: opts.retryBaseMs ?? 250,
    retryMaxMs: opts.retryMaxMs ?? 5000,
    signal: abort.signal,
    leadership,
  });
  const statusTimeoutMs = opts.statusTimeoutMs ?? 3000;
  const healthWatch = new TargetHealthWatch({ state, registry, client, faults, metrics, log, signal: abort.signal, pollMs: opts.targetHealthPollMs, boundMs: opts.targetHealthBoundMs, timeoutMs: statusTimeoutMs });
  new RevisionRecorder({ state, registry, log, watchTargets: (sha, shard) => healthWatch.watch(sha, shard) });
  const workers = new Map<string, ShardWorker>();
  const workerFor = (shard: string) => {
    let w = workers.get(shard);
    if (!w) {
      w = new ShardWorker(state.shard(shard), { state, registry, pusher, metrics, log, failureRetryBaseMs: opts.failureRetryBaseMs ?? reconcileMs, failureRetryMaxMs: opts.failureRetryMaxMs ?? 300_000, leadership });
      workers.set(shard, w);
    }
    return w;
  };
  const wave = new WaveCoordinator({ state, registry, workerFor, canaryShard: opts.canaryShard, log });
  const git = new GitFollower(opts.repo, branch, opts.stateDir);
  const reshards = new ReshardCoordinator({
    state,
    registry,
    client,
    faults,
    metrics,
    log: log.child({ component: 'resharding' }),
    signal: abort.signal,
    book: new ReshardBook(join(opts.stateDir, 'reshards.json')),
    boundMs: opts.reshardBoundMs,
    pollMs: opts.reshardPollMs,
    timeoutMs: statusTimeoutMs,
    onPhaseChanged: () => sync.readopt(),
  });
  const sync = new RepositorySync({ git, state, metrics, log, subdir: opts.repoSubdir, onDesiredChanged: () => wave.submit(), reshards });
  const reconciler = new Reconciler({ state, registry, client, faults, metrics, log, workerFor, heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 30_000, usageRefreshMs: opts.usageRefreshMs, statusTimeoutMs, concurrency: Math.max(concurrency, 16), leadership });

  const closeHooks = new CloseHooks(log);
  // Subscribed before the first sync, so that the start-up revision is reported too.
  if (opts.commitStatus) {
    const reporter = new CommitStatusReporter({ ...opts.commitStatus, revisions: state.revisions, leadership, registry: metrics.registry, log });
    closeHooks.add(() => reporter.close());
  }
  const streams = new EventStreams(
    { total: opts.maxEventStreams ?? DEFAULT_EVENT_STREAM_LIMITS.total, perClient: opts.maxEventStreamsPerClient ?? DEFAULT_EVENT_STREAM_LIMITS.perClient },
    metrics,
    log,
  );
  closeHooks.add(() => streams.closeAll());
  // The server listens before the clone is open (agents may report meanwhile), so a webhook can arrive
  // early; its fetch must wait for the clone, or it races `git.open()` on a half-made repository.
  let gitOpened!: () => void;
  const gitReady = new Promise<void>((resolve) => (gitOpened = resolve));
  const discovery = opts.kubernetes
    ? new AgentDiscovery({ registry, state, metrics, log, pollStatus: (a) => reconciler.pollStatus(a), kickShard: (shard) => runtime.kickShard(shard) }, opts.kubernetes)
    : null;
  const runtime: ControllerRuntime = {
    kubernetes: discovery ? () => discovery.status() : undefined,
    state,
    metrics,
    log,
    sync: async (reason, receivedAt) => {
      await gitReady;
      return sync.trigger(reason, receivedAt);
    },
    kickShard: (shard) => {
      if (state.shards.get(shard)?.released) workerFor(shard).kick();
    },
    pollStatus: (a: AgentRecord) => reconciler.pollStatus(a),
    wave: () => wave.current,
    onClose: (fn) => closeHooks.add(fn),
    closeHookCount: () => closeHooks.size,
    faults,
    streams,
    leadership,
    reshards: () => reshards.view(),
  };
  const { app } = createControllerApp(runtime, {
    tokens: () => tokens,
    webhookSecret: () => opts.webhookSecret,
    openReadAccess: opts.openReadAccess ?? false,
    webhookMaxBytes: opts.webhookMaxBytes ?? 1024 * 1024,
    dashboardSessionMs: opts.dashboardSessionMs,
    globalViewUrl: opts.globalViewUrl,
    extraRoutes: opts.extraRoutes,
  });

  // A kubeconfig that cannot be loaded is a configuration error: fail before listening. An API that
  // refuses (403) is not: discovery retries and shows why in /v1/kubernetes and /healthz.
  await discovery?.start();

  // Listen first so agents can report while we learn the fleet; then ask every known agent what it
  // runs, so that a restarted controller re-pushes nothing to agents already on the desired hash.
  const { host, port } = parseListenAddress(opts.listen ?? '127.0.0.1:0');
  const server: Server = await listen(app, host, port);
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  try {
    await mapBounded(registry.all(), Math.max(concurrency, 16), (a) => reconciler.pollStatus(a));
    await git.open();
    gitOpened();
    await sync.trigger('startup');
  } catch (err) {
    await new Promise<void>((r) => server.close(() => r()));
    throw err;
  }
  const refreshLeaderGauges = () => {
    metrics.isLeader.set(leadership.isLeader() ? 1 : 0);
    metrics.leaderTerm.set(leadership.info().term);
  };
  reconciler.refreshGauges();
  refreshLeaderGauges();
  metrics.onCollect(() => {
    reconciler.refreshGauges();
    refreshLeaderGauges();
  });
  // A new leader's state is level-triggered: it recomputes everything from git and the agents'
  // reports, so kicking every released shard finishes whatever rollout the last leader left half-done
  // (and fences every agent at the new term with an `unchanged` push).
  leadership.onChange((leading) => {
    metrics.leadershipTransitions.inc({ to: leading ? 'leader' : 'follower' });
    refreshLeaderGauges();
    state.record({ type: leading ? 'leader-elected' : 'leader-stepped-down', message: leading ? `this controller (${leadership.info().identity}) leads at term ${leadership.term()}` : `this controller (${leadership.info().identity}) stepped down; it no longer pushes` });
    if (!leading) return;
    for (const s of state.shards.values()) if (s.released) workerFor(s.name).kick();
    wave.submit();
    void reconciler.tick().catch((err) => log.error('reconcile failed', { error: err }));
  });
  if (opts.kubernetesEvents) {
    const ke = opts.kubernetesEvents;
    const recorder = new KubeEventRecorder({
      sink: ke.sink,
      instance: leadership.info().identity,
      log: log.child({ component: 'kubernetes-events' }),
      aggregateWindowMs: ke.aggregateWindowMs,
      burst: ke.burst,
      refillMs: ke.refillMs,
      objectFor: (shard) => {
        // Discovered pods are `namespace/name`: the StatefulSet lives beside them.
        const pod = registry.replicasOf(shard).find((a) => a.kubernetes)?.kubernetes?.pod;
        return { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: pod?.split('/')[0] || ke.namespace, name: ke.statefulSet?.(shard) ?? `prometheus-${shard}` };
      },
    });
    closeHooks.add(recordRolloutEvents({ state, registry, leadership, recorder }));
    closeHooks.add(() => recorder.close());
  }
  elector?.start();
  reshards.start();

  const timers: NodeJS.Timeout[] = [];
  if (pollMs > 0) timers.push(setInterval(() => void sync.trigger('poll').catch(() => undefined), pollMs));
  timers.push(setInterval(() => void reconciler.tick().catch((err) => log.error('reconcile failed', { error: err })), reconcileMs));
  log.info('controller listening', { url, repo: opts.repo, branch, stateDir: opts.stateDir, knownAgents: loaded, staticAgents: statics.length, pollMs, reconcileMs, concurrency });

  let closed: Promise<void> | null = null;
  return {
    url,
    port: boundPort,
    app,
    state,
    metrics,
    runtime,
    syncNow: () => sync.trigger('manual'),
    reconcileNow: () => reconciler.tick(),
    close: () =>
      (closed ??= (async () => {
        // Stop pushing and hand the Lease back first, so a follower takes over within about a second.
        await elector?.stop(true);
        await discovery?.stop();
        timers.forEach(clearInterval);
        abort.abort();
        closeHooks.runAll();
        await wave.close();
        await Promise.all([...workers.values()].map((w) => w.close()));
        await sync.idle().catch(() => undefined);
        git.close(); // its long-lived git cat-file processes
        registry.saveNow();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        log.info('controller stopped');
      })()),
  };
}
