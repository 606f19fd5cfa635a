// Shared fixtures for the agent tests: real Prometheus, real agent, real HTTP on loopback.
import { waitFor as waitUntil } from '../support/wait-for.ts';
import { untilAgentListens } from '../support/agent-listening.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDesiredDocument, type DesiredDocument } from '../../core/document/desired-document.ts';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { startAgent, type RunningAgent, type StartAgentOptions } from '../../shard-agent/start-agent.ts';

export const TOKEN = 'agent-test-token-5f2c9a71d';
export const SHARD = 'networking';

export function configWithJobs(jobs: Record<string, string[]>, extra = ''): string {
  const lines = ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', extra, 'scrape_configs:'].filter((l) => l !== '');
  for (const [name, targets] of Object.entries(jobs)) {
    lines.push(`  - job_name: ${name}`, '    static_configs:', `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`);
  }
  if (Object.keys(jobs).length === 0) lines[lines.length - 1] = 'scrape_configs: []';
  return lines.join('\n') + '\n';
}

export function makeDoc(revision: string, generation: number, config: string, extraFiles: { path: string; content: string }[] = []): DesiredDocument {
  return buildDesiredDocument({ shard: SHARD, revision, generation, committedAt: new Date().toISOString(), files: [{ path: 'prometheus.yml', content: config }, ...extraFiles] });
}

/** A tiny exporter on loopback for Prometheus to scrape. */
export async function startExporter(): Promise<{ url: string; hostPort: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end('# TYPE demo_up gauge\ndemo_up 1\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    hostPort: `127.0.0.1:${addr.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A quiet agent (replica a, no promtool, no logs) on the given files, for tests that stop it and start
 * it again on the same state directory, or write that directory before it starts.
 */
export function launchQuietAgent(prometheusUrl: string, configFile: string, stateDir: string): Promise<RunningAgent> {
  return startAgent({ shard: SHARD, replica: 'a', prometheusUrl, configFile, stateDir, token: TOKEN, promtool: null, probeIntervalMs: 200, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: () => undefined });
}

export interface Fixture {
  dir: string;
  configFile: string;
  stateDir: string;
  prometheus: RunningPrometheus;
  agent: RunningAgent;
  logs: string[];
  post(path: string, body: unknown, opts?: { token?: string | null; raw?: string }): Promise<{ status: number; body: any }>;
  get(path: string, token?: string | null): Promise<{ status: number; body: any; text: string }>;
  close(): Promise<void>;
}

export async function startFixture(agentOpts: Partial<StartAgentOptions> = {}, initialConfig = configWithJobs({})): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-test-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, initialConfig);
  const prometheus = await startPrometheus({ configFile, dir });
  const stateDir = join(dir, 'state');
  const logs: string[] = [];
  const agent = await startAgent({
    shard: SHARD,
    replica: 'a',
    prometheusUrl: prometheus.url,
    configFile,
    stateDir,
    token: TOKEN,
    probeIntervalMs: 200,
    reloadTimeoutMs: 5000,
    defaultMetrics: false,
    logWrite: (line) => logs.push(line),
    ...agentOpts,
  });
  const auth = (token: string | null | undefined): Record<string, string> => (token === null ? {} : { authorization: `Bearer ${token ?? TOKEN}` });
  return {
    dir,
    configFile,
    stateDir,
    prometheus,
    agent,
    logs,
    async post(path, body, opts = {}) {
      const res = await fetch(agent.url + path, { method: 'POST', headers: { ...auth(opts.token), 'content-type': 'application/json' }, body: opts.raw ?? JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async get(path, token) {
      const res = await fetch(agent.url + path, { headers: auth(token) });
      const text = await res.text();
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        /* /metrics is text */
      }
      return { status: res.status, body, text };
    },
    async close() {
      await agent.close();
      await prometheus.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function activeTargets(prometheusUrl: string): Promise<{ job: string; instance: string; health: string }[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/targets?state=active`);
  const body = (await res.json()) as { data: { activeTargets: { labels: Record<string, string>; health: string }[] } };
  return body.data.activeTargets.map((t) => ({ job: t.labels.job, instance: t.labels.instance, health: t.health }));
}

export const waitFor: typeof waitUntil = (what, fn, timeoutMs = 10_000, everyMs = 50) => waitUntil(what, fn, timeoutMs, everyMs);

export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/** Runs `promshard agent` as its own process (for kill -9 and RSS), resolving once it listens. */
export async function spawnAgentProcess(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: import('node:child_process').ChildProcess; output(): string; exited: Promise<{ code: number | null; signal: string | null }> }> {
  const { spawn } = await import('node:child_process');
  const bin = new URL('../../bin/promshard.mjs', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, 'agent', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = await untilAgentListens(child, (e) => new Error(`agent exited before listening (${JSON.stringify(e)}): ${out}`));
  return { url, child, output: () => out, exited };
}
