// Fixtures for the controller tests: a real git repository in a temp dir, real shard agents
// (in-process startAgent) beside real Prometheus processes, and a real controller on loopback.
import { waitFor } from '../support/wait-for.ts';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { signWebhookBody } from '../../core/http/auth.ts';
import { startController, type RunningController, type StartControllerOptions } from '../../central-controller/start-controller.ts';
import { startAgent, type RunningAgent, type StartAgentOptions } from '../../shard-agent/start-agent.ts';
import { freePort, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';

export const TOKEN = 'controller-test-token-8c1f0e2a';
export const READ_TOKEN = 'controller-read-token-77ab31c9';
export const SECRET = 'webhook-secret-0b6e9d4c2f';

export const SHARDS_YAML = `defaults:
  interval: 15s
  timeout: 5s
  limits: { sample_limit: 10000, label_limit: 30 }
  max_limits: { sample_limit: 50000, label_limit: 60 }
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { shard: networking }
  - name: storage
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
`;

export function teamFile(team: string, shard: string, jobs: Record<string, string[]>): string {
  const lines = [`team: ${team}`, `shard: ${shard}`, 'jobs:'];
  for (const [name, targets] of Object.entries(jobs)) lines.push(`  - name: ${name}`, `    targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`);
  return lines.join('\n') + '\n';
}

export class GitRepo {
  readonly dir: string;
  private n = 0;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'promshard-ctl-repo-'));
    this.git('init', '-q', '-b', 'main');
  }
  git(...args: string[]): string {
    return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: this.dir, encoding: 'utf8' });
  }
  write(files: Record<string, string | null>): void {
    for (const [path, content] of Object.entries(files)) {
      const abs = join(this.dir, path);
      if (content === null) rmSync(abs, { force: true });
      else {
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(abs, content);
      }
    }
  }
  /** Writes the files and commits them; returns the sha. */
  commit(files: Record<string, string | null>, message = `change ${++this.n}`): string {
    this.write(files);
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return this.git('rev-parse', 'HEAD').trim();
  }
  destroy(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Replica {
  shard: string;
  replica: string;
  dir: string;
  configFile: string;
  prometheus: RunningPrometheus;
  agent: RunningAgent;
  /** Restarts the agent (same state, new port) against the same Prometheus. */
  restartAgent(): Promise<void>;
  stopAgent(): Promise<void>;
}

export async function startReplica(
  shard: string,
  replica: string,
  controllerUrl: string | undefined,
  logs: string[] = [],
  agentOpts: Partial<StartAgentOptions> = {},
  prometheusOpts: { extraArgs?: string[]; env?: Record<string, string> } = {},
): Promise<Replica> {
  const dir = mkdtempSync(join(tmpdir(), `promshard-ctl-${shard}-${replica}-`));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const prometheus = await startPrometheus({ configFile, dir, ...prometheusOpts });
  const launch = () =>
    startAgent({
      shard,
      replica,
      prometheusUrl: prometheus.url,
      configFile,
      stateDir: join(dir, 'agent-state'),
      token: TOKEN,
      controllerUrl,
      heartbeatMs: 500,
      pullIntervalMs: 2000,
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
      probeIntervalMs: 500,
      reloadTimeoutMs: 5000,
      defaultMetrics: false,
      logWrite: (l) => logs.push(l),
      ...agentOpts,
    });
  const r: Replica = {
    shard,
    replica,
    dir,
    configFile,
    prometheus,
    agent: await launch(),
    async restartAgent() {
      await r.agent.close();
      r.agent = await launch();
    },
    async stopAgent() {
      await r.agent.close();
    },
  };
  return r;
}

export async function stopReplica(r: Replica): Promise<void> {
  await r.agent.close().catch(() => undefined);
  await r.prometheus.destroy();
  rmSync(r.dir, { recursive: true, force: true });
}

export async function launchController(repo: GitRepo, stateDir: string, port: number, extra: Partial<StartControllerOptions> = {}, logs: string[] = []): Promise<RunningController> {
  return startController({
    repo: repo.dir,
    branch: 'main',
    listen: `127.0.0.1:${port}`,
    stateDir,
    token: TOKEN,
    readToken: READ_TOKEN,
    webhookSecret: SECRET,
    pollMs: 1000,
    reconcileMs: 1000,
    heartbeatTimeoutMs: 1500,
    defaultMetrics: false,
    failureRetryBaseMs: 1000,
    failureRetryMaxMs: 4000,
    pushTimeoutMs: 10000,
    logWrite: (l) => logs.push(l),
    ...extra,
  });
}

export async function newControllerPort(): Promise<number> {
  return freePort();
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function webhook(url: string, body: object = { ref: 'refs/heads/main' }, secret = SECRET): Promise<number> {
  const raw = JSON.stringify(body);
  const res = await fetch(`${url}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signWebhookBody(raw, secret) }, body: raw });
  await res.arrayBuffer();
  return res.status;
}

export async function api(url: string, path: string, token: string | null = TOKEN, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url + path, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) } });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body };
}

export { waitFor };

export async function activeTargets(prometheusUrl: string): Promise<string[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/targets?state=active`);
  const body = (await res.json()) as { data: { activeTargets: { labels: Record<string, string> }[] } };
  return body.data.activeTargets.map((t) => `${t.labels.job}/${t.labels.instance}`).sort();
}

export async function metricValue(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) {
      total += Number(m[4]);
      found = true;
    }
  }
  return found ? total : 0;
}

/** The shard view's replica states, e.g. {a: 'in-sync', b: 'failed'}. */
export async function replicaStates(url: string, shard: string): Promise<Record<string, { state: string; hash: string | null; revision: string | null }>> {
  const { body } = await api(url, `/v1/shards/${shard}`);
  return Object.fromEntries(body.replicas.map((r: any) => [r.replica, { state: r.state, hash: r.applied?.hash ?? null, revision: r.applied?.revision ?? null }]));
}

export async function allOnRevision(replicas: Replica[], sha: string): Promise<boolean> {
  return replicas.every((r) => r.agent.status().applied?.revision === sha && r.agent.status().applied?.verified);
}

/** The configuration Prometheus actually runs (GET /api/v1/status/config). */
export async function runningConfig(prometheusUrl: string): Promise<string> {
  const res = await fetch(`${prometheusUrl}/api/v1/status/config`);
  return ((await res.json()) as { data: { yaml: string } }).data.yaml;
}
