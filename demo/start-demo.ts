// Starts the whole local fleet: exporters, the demo repository, the controller (open read access on
// loopback, signed post-commit webhook plus a short poll), and for each shard N replicas of a real
// Prometheus with its agent. Everything started is registered for cleanup as soon as it exists, so
// a stop request at any moment (even half-way through start-up) leaves nothing behind.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../core/log/logger.ts';
import { startController, type RunningController } from '../central-controller/start-controller.ts';
import { shardsView } from '../central-controller/views.ts';
import { createDemoRepository, type DemoRepository } from './demo-repository.ts';
import { startHealthyExporter, startOffendingExporter, type DemoExporter } from './demo-exporters.ts';
import type { ProcessTracker } from './processes.ts';
import { freePort } from '../core/net/free-port.ts';
import { deriveAgentToken } from '../core/http/agent-credential.ts';
import { startReplica, type RunningReplica } from './replica.ts';
import { startGlobalReceiver } from './global-receiver.ts';

export interface DemoOptions {
  /** Working directory of the demo (repository, Prometheus data, logs). */
  baseDir: string;
  /** The scrape-configs folder to copy. */
  source: string;
  shards: string[];
  replicas: number;
  prometheusBin: string;
  promtool: string | null;
  /** Controller port; 0 = try 8480, else any free port. */
  port: number;
  pollMs: number;
  log: Logger;
  /** Called with progress lines for the terminal. */
  progress(line: string): void;
  /** Aborted when the user asked to stop. */
  signal: AbortSignal;
  /** Child processes (Prometheus) are tracked here; the caller may kill them at any moment. */
  tracker: ProcessTracker;
}

export interface RunningDemo {
  controller: RunningController;
  repository: DemoRepository;
  replicas: RunningReplica[];
  exporters: { healthy: DemoExporter; offender: DemoExporter };
  dashboardUrl: string;
  /** The global receiver's Prometheus UI: every shard's series, labelled by promshard_shard and replica. */
  globalViewUrl: string;
  demoShard: string;
  tracker: ProcessTracker;
  /** Stops everything (idempotent). */
  close(): Promise<void>;
}

export class DemoAborted extends Error {}

async function choosePort(preferred: number): Promise<number> {
  if (preferred > 0) return preferred;
  // 8480 is the controller's documented default; take it when it is free, else any free port.
  const { createServer } = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(8480, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return free ? 8480 : freePort();
}

export async function startDemo(o: DemoOptions): Promise<RunningDemo> {
  const tracker = o.tracker;
  const closers: (() => Promise<void>)[] = [];
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      for (const c of closers.reverse()) await c().catch((err) => o.log.warn('demo cleanup step failed', { error: err }));
      await tracker.stopAll();
    })());
  const check = () => {
    if (o.signal.aborted) throw new DemoAborted('stopped during start-up');
  };

  try {
    o.progress('starting two exporters on loopback (one healthy, one cardinality offender)…');
    const healthy = await startHealthyExporter();
    closers.push(() => healthy.close());
    const offender = await startOffendingExporter();
    closers.push(() => offender.close());
    check();

    o.progress('starting the global receiver (a real Prometheus accepting remote_write)…');
    const receiver = await startGlobalReceiver({ dir: o.baseDir, bin: o.prometheusBin, tracker });
    check();

    const demoShard = o.shards.includes('compute') ? 'compute' : o.shards[0]!;
    const repository = createDemoRepository({ dir: join(o.baseDir, 'scrape-configs'), source: o.source, demoShard, healthyTarget: healthy.target, offenderTarget: offender.target, remoteWriteUrl: receiver.writeUrl });
    o.progress(`configuration repository: ${repository.dir}`);

    const token = randomBytes(24).toString('base64url');
    // Each agent gets its own credential, scoped to its shard and replica (docs/operations.md).
    const agentSecret = randomBytes(32).toString('base64url');
    const webhookSecret = randomBytes(24).toString('base64url');
    const port = await choosePort(o.port);
    o.progress('starting the controller…');
    const controller = await startController({
      repo: repository.dir,
      branch: repository.branch,
      listen: `127.0.0.1:${port}`,
      stateDir: join(o.baseDir, 'controller-state'),
      token,
      agentSecret,
      webhookSecret,
      openReadAccess: true,
      globalViewUrl: receiver.url,
      pollMs: o.pollMs,
      reconcileMs: 2000,
      heartbeatTimeoutMs: 8000,
      failureRetryBaseMs: 2000,
      failureRetryMaxMs: 30_000,
      pushTimeoutMs: 20_000,
      log: o.log.child({ component: 'controller' }),
    });
    closers.push(() => controller.close());
    repository.installWebhookHook(`${controller.url}/v1/webhook`, webhookSecret);
    check();

    o.progress(`starting ${o.shards.length} shard(s) × ${o.replicas} replica(s): real Prometheus + agent each…`);
    const names = o.shards.flatMap((shard) => Array.from({ length: o.replicas }, (_, i) => ({ shard, replica: String.fromCharCode(97 + i) })));
    const replicas: RunningReplica[] = [];
    const results = await Promise.allSettled(
      names.map(async (n) => {
        const r = await startReplica({ ...n, dir: join(o.baseDir, 'replicas'), prometheusBin: o.prometheusBin, promtool: o.promtool, tracker, controllerUrl: controller.url, token: deriveAgentToken(agentSecret, n), log: o.log });
        replicas.push(r);
        closers.push(() => r.close());
        return r;
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    check();

    return {
      controller,
      repository,
      replicas: replicas.sort((a, b) => (a.shard === b.shard ? (a.replica < b.replica ? -1 : 1) : o.shards.indexOf(a.shard) - o.shards.indexOf(b.shard))),
      exporters: { healthy, offender },
      dashboardUrl: `${controller.url}/`,
      globalViewUrl: receiver.url,
      demoShard,
      tracker,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Resolves true once every replica of every demo shard runs the shard's desired document (or false at the deadline / on abort). */
export async function waitUntilInSync(demo: RunningDemo, shards: string[], replicasPerShard: number, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    const views = shardsView(demo.controller.state).filter((s) => shards.includes(s.name));
    if (views.length === shards.length && views.every((s) => s.inSync && s.replicas.length >= replicasPerShard)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}
