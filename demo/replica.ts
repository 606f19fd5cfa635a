// One replica of a shard, as the demo runs it: a real Prometheus child process on loopback and, in
// this process, its shard agent (registered with the controller) running its cardinality analyzer.
import { mkdirSync, writeFileSync } from 'node:fs';
import { freePort } from '../core/net/free-port.ts';
import { join } from 'node:path';
import type { Logger } from '../core/log/logger.ts';
import type { CardinalityAnalyzer } from '../shard-agent/cardinality/index.ts';
import { startAgent, type RunningAgent } from '../shard-agent/start-agent.ts';
import type { ProcessTracker, TrackedChild } from './processes.ts';
import { REPLICA_ENV, REPLICA_FEATURE } from '../core/render/remote-write.ts';

export interface RunningReplica {
  shard: string;
  replica: string;
  prometheusUrl: string;
  prometheus: TrackedChild;
  agent: RunningAgent;
  analyzer: CardinalityAnalyzer;
  close(): Promise<void>;
}

export interface ReplicaOptions {
  shard: string;
  replica: string;
  dir: string;
  prometheusBin: string;
  /** promtool path, or null to skip the check. Run with --syntax-only (credential files of the example repository do not exist here). */
  promtool: string | null;
  tracker: ProcessTracker;
  controllerUrl: string;
  /** This agent's own credential (derived from the controller's agent secret for this shard and replica). */
  token: string;
  log: Logger;
  heartbeatMs?: number;
  pullIntervalMs?: number;
  probeIntervalMs?: number;
  analyzerIntervalMs?: number;
  analyzerInitialDelayMs?: number;
}

export async function waitForPrometheus(url: string, child: TrackedChild, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Prometheus (${child.name}) exited during start-up:\n${child.output().trim().split('\n').slice(-8).join('\n')}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Prometheus (${child.name}) at ${url} was not ready within ${timeoutMs} ms`);
}

/** Starts a Prometheus child, retrying on another port if the chosen one was taken meanwhile. */
export async function startPrometheusProcess(o: {
  name: string;
  bin: string;
  dir: string;
  configFile: string;
  tracker: ProcessTracker;
  extraArgs?: string[];
  /** Added to the environment (PROMSHARD_REPLICA, expanded in external_labels). */
  env?: Record<string, string>;
}): Promise<{ url: string; child: TrackedChild }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = o.tracker.spawn(o.name, o.bin, [
      `--config.file=${o.configFile}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${join(o.dir, 'data')}`,
      '--storage.tsdb.retention.time=2h',
      '--web.enable-lifecycle',
      '--log.level=warn',
      ...(o.extraArgs ?? []),
    ], o.env ? { env: { ...process.env, ...o.env } } : {});
    try {
      await waitForPrometheus(url, child);
      return { url, child };
    } catch (err) {
      await o.tracker.stop(child, 1000);
      if (attempt >= 2 || !/address already in use/i.test(child.output())) throw err;
    }
  }
}

export async function startReplica(o: ReplicaOptions): Promise<RunningReplica> {
  const dir = join(o.dir, `${o.shard}-${o.replica}`);
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  // Until the agent applies the shard's document: external labels only, nothing to scrape.
  writeFileSync(configFile, `global:\n  external_labels: { shard: ${JSON.stringify(o.shard)}, replica: ${JSON.stringify(o.replica)} }\nscrape_configs: []\n`);
  // Both replicas load the same document; the replica external label of a remote-writing shard is
  // `${PROMSHARD_REPLICA}`, expanded by Prometheus (core/render/remote-write.ts).
  const prom = await startPrometheusProcess({
    name: `prometheus ${o.shard}/${o.replica}`,
    bin: o.prometheusBin,
    dir,
    configFile,
    tracker: o.tracker,
    extraArgs: [`--enable-feature=${REPLICA_FEATURE}`],
    env: { [REPLICA_ENV]: o.replica },
  });

  let agent: RunningAgent;
  try {
    agent = await startAgent({
      shard: o.shard,
      replica: o.replica,
      prometheusUrl: prom.url,
      configFile,
      stateDir: join(dir, 'agent-state'),
      token: o.token,
      controllerUrl: o.controllerUrl,
      promtool: o.promtool,
      promtoolSyntaxOnly: true,
      heartbeatMs: o.heartbeatMs ?? 2000,
      pullIntervalMs: o.pullIntervalMs ?? 10_000,
      probeIntervalMs: o.probeIntervalMs ?? 1000,
      cardinality: { intervalMs: o.analyzerIntervalMs ?? 15_000, initialDelayMs: o.analyzerInitialDelayMs ?? 8000, budgetMs: 10_000 },
      log: o.log.child({ component: 'shard-agent' }),
    });
  } catch (err) {
    await o.tracker.stop(prom.child);
    throw err;
  }
  const a = agent;
  const an = a.analyzer!;
  return {
    shard: o.shard,
    replica: o.replica,
    prometheusUrl: prom.url,
    prometheus: prom.child,
    agent: a,
    analyzer: an,
    close: async () => {
      await a.close();
      await o.tracker.stop(prom.child);
    },
  };
}
