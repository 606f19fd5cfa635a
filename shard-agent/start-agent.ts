// Programmatic entry point: everything `promshard agent` does, startable in-process by tests, the
// controller's tests and the demo. Several agents may share one process (each has its own registry).
import { realpathSync } from 'node:fs';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import type { JobOwner } from '../core/document/desired-document.ts';
import { listen, parseListenAddress } from '../core/http/server.ts';
import { createLogger, type Logger } from '../core/log/logger.ts';
import { createAgentMetrics, type AgentMetrics } from './agent-metrics.ts';
import { createAgentApp, type FlagSource } from './agent-server.ts';
import { ApplyPipeline, type AgentStatusDetail, type ApplyReply } from './apply-pipeline.ts';
import { configLayout } from './config-paths.ts';
import { ControllerClient } from './controller-client.ts';
import { PrometheusClient } from './prometheus-client.ts';
import { readTargets } from './target-health.ts';
import { startPrometheusWatch } from './prometheus-watch.ts';
import { idleCollector } from './idle-gc.ts';
import { promtoolAvailable } from './promtool-check.ts';
import type { ReloadMethod } from './reload-prometheus.ts';
import { StateStore } from './state-store.ts';
import { asFlagSource, createCardinalityAnalyzer, type CardinalityAnalyzer } from './cardinality/index.ts';

export const DEFAULT_PROMTOOL = '/usr/bin/promtool';

export interface StartAgentOptions {
  shard: string;
  replica: string;
  /** HOST:PORT, default 127.0.0.1:0 (an ephemeral port; read `url`/`port` from the result). */
  listen?: string;
  prometheusUrl: string;
  configFile: string;
  stateDir: string;
  /**
   * This agent's own credential (`promshard agent-token`, scoped to its shard and replica): callers
   * must present it, and the agent presents it to the controller.
   */
  token: string;
  /** Hex SHA-256 of the admin token: accepted from callers too, and the only credential that may force. */
  adminTokenSha256?: string;
  controllerUrl?: string;
  /** Token this agent presents to the controller; defaults to `token`. */
  controllerToken?: string;
  /** promtool binary; default /usr/bin/promtool when it exists; null disables the check. */
  promtool?: string | null;
  /** Run promtool with --syntax-only: files the configuration references (credentials, certificates) need not exist here. Default false. */
  promtoolSyntaxOnly?: boolean;
  /** Default `{ kind: 'http' }` (POST /-/reload). */
  reload?: ReloadMethod;
  /** URL the controller should use to reach this agent; default http://<listen address>. */
  advertiseUrl?: string;
  pullIntervalMs?: number; // default 30 s
  heartbeatMs?: number; // default 10 s
  reportQueueSize?: number; // default 50
  backoffBaseMs?: number; // default 500 ms
  backoffMaxMs?: number; // default 30 s
  probeIntervalMs?: number; // default 2 s
  reloadTimeoutMs?: number; // default 10 s
  /** An outage of Prometheus starting this soon after a document was loaded is blamed on it; default 60 s. */
  outageBlameWindowMs?: number;
  /** Body limit for POST /v1/apply (bytes or '8mb'); default '8mb'. */
  maxBody?: string | number;
  flagSource?: FlagSource;
  /**
   * Run the cardinality analyzer against this agent's Prometheus, attributing flags with the owners
   * of the applied document. Off by default in-process (tests drive it); the CLI turns it on.
   */
  cardinality?: { intervalMs?: number; budgetMs?: number; initialDelayMs?: number; concurrency?: number } | false;
  /** Logger; default JSON lines on stderr. `logWrite` replaces just the sink. */
  log?: Logger;
  logWrite?: (line: string) => void;
  /** collectDefaultMetrics on this agent's registry (default true). */
  defaultMetrics?: boolean;
  /** Test-only: delay inside every apply so that applies overlap. */
  testDelayMs?: number;
  /**
   * Collect garbage this long after the last apply of a burst (idle-gc.ts), with V8's gc: for the
   * agent's own process only (`promshard agent`), never in one shared with tests or a demo.
   */
  collectWhenIdle?: { gc: () => void; delayMs: number };
  /** Test-only: called once an apply's files are in place, before the reload (to race the agent). */
  testAfterWrite?: () => void | Promise<void>;
}

export interface RunningAgent {
  url: string;
  host: string;
  port: number;
  metrics: AgentMetrics;
  status(): AgentStatusDetail;
  /** Job → owner of the applied document, for the cardinality analyzer. */
  owners(): Record<string, JobOwner>;
  /** The cardinality analyzer, when enabled. */
  analyzer: CardinalityAnalyzer | null;
  /** The same pipeline POST /v1/apply uses, without HTTP. */
  apply(document: unknown, opts?: { force?: boolean }): Promise<ApplyReply>;
  /** Pull from the controller now (no-op without one). */
  pullNow(): Promise<void>;
  /** Probe Prometheus now (and verify a pending configuration if it answers). */
  probeNow(): Promise<void>;
  close(): Promise<void>;
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  if (!opts.shard || !opts.replica) throw new Error('shard and replica are required');
  if (!opts.token) throw new Error('a token is required');
  const log = (opts.log ?? createLogger({ component: 'shard-agent', write: opts.logWrite })).child({ shard: opts.shard, replica: opts.replica });
  const layout = configLayout(opts.configFile);
  // One directory for both, and the agent's own files sit among the document's: a document file named
  // journal.json is removed by the next apply, and a document directory named promtool-* is taken for
  // a scratch directory left by a killed agent and deleted at the next start.
  if (realOr(opts.stateDir) === realOr(layout.configDir)) throw new Error(`--state-dir ${opts.stateDir} is the directory of --config-file ${opts.configFile}: give the agent a directory of its own`);
  const store = new StateStore(opts.stateDir);
  const metrics = createAgentMetrics({ defaultMetrics: opts.defaultMetrics });
  const prometheus = new PrometheusClient(opts.prometheusUrl);
  const promtool = opts.promtool === null ? null : (opts.promtool ?? DEFAULT_PROMTOOL);
  if (promtool && !promtoolAvailable(promtool)) {
    if (opts.promtool) throw new Error(`promtool at ${promtool} is not an executable file`);
    log.warn('promtool not found; configurations are not checked before the reload', { promtool });
  }

  const pipeline = await ApplyPipeline.open({
    shard: opts.shard,
    replica: opts.replica,
    layout,
    store,
    prometheus,
    reloadMethod: opts.reload ?? { kind: 'http' },
    promtool: promtool && promtoolAvailable(promtool) ? promtool : null,
    promtoolSyntaxOnly: opts.promtoolSyntaxOnly ?? false,
    reloadTimeoutMs: opts.reloadTimeoutMs ?? 10_000,
    metrics,
    log,
    testDelayMs: opts.testDelayMs,
    testAfterWrite: opts.testAfterWrite,
    outageBlameWindowMs: opts.outageBlameWindowMs,
  });

  let url = '';
  let controller: ControllerClient | null = null;
  const analyzer = opts.cardinality
    ? createCardinalityAnalyzer({
        prometheusUrl: opts.prometheusUrl,
        shard: opts.shard,
        owners: () => pipeline.owners(),
        registry: metrics.registry,
        log: log.child({ component: 'cardinality' }),
        intervalMs: opts.cardinality.intervalMs,
        budgetMs: opts.cardinality.budgetMs,
        initialDelayMs: opts.cardinality.initialDelayMs,
        concurrency: opts.cardinality.concurrency,
      })
    : null;
  const flagSource = opts.flagSource ?? (analyzer ? asFlagSource(analyzer) : undefined);
  const usageSource = {
    usage: () => {
      const cycle = analyzer?.lastCycle() ?? null;
      return {
        measuredAt: cycle?.finishedAt ?? null,
        headSeries: cycle?.head?.numSeries ?? null,
        jobs: (cycle?.jobs ?? []).map((j) => ({ job: j.job, series: j.series, targets: j.targets })),
      };
    },
  };
  const status = () => pipeline.status({ replica: opts.replica, url, flagCount: flagSource?.flags().length ?? 0 });
  const adminDigest = opts.adminTokenSha256?.toLowerCase();
  const app = createAgentApp({ pipeline, tokens: () => [opts.token], adminTokenSha256: () => adminDigest, maxBody: opts.maxBody ?? '8mb', metrics, log, status, flagSource, usageSource, targetSource: (jobs) => readTargets(prometheus, jobs) });
  const { host, port } = parseListenAddress(opts.listen ?? '127.0.0.1:0');
  const server: Server = await listen(app.handle, host, port);
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  url = (opts.advertiseUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`).replace(/\/+$/, '');

  const collector = opts.collectWhenIdle ? idleCollector(opts.collectWhenIdle.gc, () => pipeline.applying, opts.collectWhenIdle.delayMs) : null;
  if (collector) pipeline.onRecord(() => collector.applied());

  const watch = startPrometheusWatch({ pipeline, client: prometheus, metrics, log, intervalMs: opts.probeIntervalMs ?? 2000 });

  if (opts.controllerUrl) {
    const c = new ControllerClient({
      url: opts.controllerUrl,
      token: opts.controllerToken ?? opts.token,
      registration: { shard: opts.shard, replica: opts.replica, url },
      pullIntervalMs: opts.pullIntervalMs ?? 30_000,
      heartbeatMs: opts.heartbeatMs ?? 10_000,
      reportQueueSize: opts.reportQueueSize ?? 50,
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
      requestTimeoutMs: 5000,
      metrics,
      log,
      status,
      appliedHash: () => pipeline.applied?.hash ?? null,
      refusedHash: () => pipeline.lastRefusedHash,
      applyPulled: async (document) => {
        const reply = await pipeline.submit({ document, source: 'pull' });
        log.info('pulled document processed', { result: reply.body.result, revision: reply.body.revision });
      },
    });
    pipeline.onRecord(() => c.enqueueReport());
    c.start();
    controller = c;
  }
  analyzer?.start();
  log.info('agent listening', { url, prometheus: opts.prometheusUrl, configFile: layout.configFile, stateDir: opts.stateDir, controller: opts.controllerUrl ?? null, promtool: promtool ?? null });

  let closed: Promise<void> | null = null;
  return {
    url,
    host,
    port: boundPort,
    metrics,
    status,
    owners: () => pipeline.owners(),
    analyzer,
    apply: (document, o) => pipeline.submit({ document, force: o?.force, source: 'push' }),
    pullNow: async () => {
      await controller?.pullOnce();
    },
    probeNow: () => watch.probeNow(),
    close: () =>
      (closed ??= (async () => {
        await controller?.stop();
        analyzer?.stop();
        collector?.stop();
        await watch.stop();
        await new Promise<void>((resolve) => {
          // A client polling over keep-alive (the controller, every reconcile round) never lets its
          // connection go idle, so close() alone could wait forever: cut what is left after a grace.
          const force = setTimeout(() => server.closeAllConnections(), 1000);
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await pipeline.idle();
        log.info('agent stopped');
      })()),
  };
}
