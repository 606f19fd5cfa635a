// Starts a real Prometheus (Debian's package) on 127.0.0.1 for tests and benchmarks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

export function prometheusInstalled(): boolean {
  return existsSync(PROMETHEUS_BIN);
}

import { freePort } from '../../core/net/free-port.ts';

export { freePort };

export interface RunningPrometheus {
  url: string;
  port: number;
  configFile: string;
  dir: string;
  process: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL) and keeps the data directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port, config and data. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
  output(): string;
}

export const MINIMAL_CONFIG = 'global:\n  scrape_interval: 15s\nscrape_configs: []\n';

export async function waitForReady(url: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Prometheus at ${url} not ready after ${timeoutMs} ms: ${String(lastErr)}`);
}

/** The `__address__` of every active target of the Prometheus at `url`, sorted. */
export async function activeAddresses(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { discoveredLabels: Record<string, string> }[] } };
  return body.data.activeTargets.map((t) => t.discoveredLabels.__address__!).sort();
}

export async function startPrometheus(
  opts: { config?: string; configFile?: string; dir?: string; port?: number; extraArgs?: string[]; /** Added to this process's environment (PROMSHARD_REPLICA for expand-external-labels). */ env?: Record<string, string> } = {},
): Promise<RunningPrometheus> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'promshard-prom-'));
  const configFile = opts.configFile ?? join(dir, 'prometheus.yml');
  if (!opts.configFile || !existsSync(configFile)) writeFileSync(configFile, opts.config ?? MINIMAL_CONFIG);
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  let child!: ChildProcess;
  const launch = async () => {
    child = spawn(
      PROMETHEUS_BIN,
      [
        `--config.file=${configFile}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
        ...(opts.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) },
    );
    child.stdout?.on('data', (d) => (out = (out + d).slice(-20000)));
    child.stderr?.on('data', (d) => (out = (out + d).slice(-20000)));
    await waitForReady(url);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  const handle: RunningPrometheus = {
    url,
    port,
    configFile,
    dir,
    get process() {
      return child;
    },
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => out,
  };
  return handle;
}
