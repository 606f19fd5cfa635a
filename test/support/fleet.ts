// Real promshard processes for fault-injection tests: `promshard agent` and `promshard controller` run
// as their own processes (so that they can be SIGKILLed), beside real Prometheus processes. Every
// child is tracked; `killAllChildren()` (call it from an `after` hook) and a process 'exit' hook make
// sure none outlives the test, even when the test fails half-way.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { adminTokenDigest, deriveAgentToken } from '../../core/http/agent-credential.ts';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_LISTENING } from './agent-listening.ts';

export const PROMSHARD_BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

/** SIGKILLs every child still running and waits for them to be gone. */
export async function killAllChildren(): Promise<void> {
  await Promise.all(
    [...children].map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await gone;
    }),
  );
  children.clear();
}

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  alive(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` for SIGTERM). */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  /** Extra `node` arguments before the script (e.g. `--import FILE`). */
  nodeArgs?: string[];
  /** Run under `bash -c` with this prefix (e.g. `ulimit -f 64;`) before exec'ing node. */
  shellPrefix?: string;
  /** Resolves once stdout matches; its first capture group is returned. */
  readyPattern: RegExp;
  readyTimeoutMs?: number;
}

export async function spawnPromshard(args: string[], o: SpawnOptions): Promise<{ proc: NodeProcess; ready: string }> {
  installExitHook();
  const argv = [...(o.nodeArgs ?? []), PROMSHARD_BIN, ...args];
  const child = o.shellPrefix
    ? spawn('bash', ['-c', `${o.shellPrefix} exec "$0" "$@"`, process.execPath, ...argv], { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      r({ code, signal });
    }),
  );
  const proc: NodeProcess = {
    child,
    pid: child.pid!,
    output: () => out,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill(signal = 'SIGKILL', graceMs = 5000) {
      if (!proc.alive()) return;
      child.kill(signal);
      const timer = signal === 'SIGKILL' ? null : setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      if (timer) clearTimeout(timer);
    },
  };
  const ready = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${args.slice(0, 5).join(' ')}: process did not become ready within ${o.readyTimeoutMs ?? 60000} ms: ${out.slice(-2000)}`)), o.readyTimeoutMs ?? 60000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      keep(d);
      const m = o.readyPattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`process exited before it was ready (${JSON.stringify(e)}): ${out.slice(-2000)}`));
    });
  }).catch(async (err) => {
    await proc.kill('SIGKILL');
    throw err;
  });
  return { proc, ready };
}

export function writeSecret(dir: string, name: string, value: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, value + '\n', { mode: 0o600 });
  return path;
}

/** Writes one agent's own credential (what `promshard agent-token` prints) and returns its path. */
export function writeAgentCredential(dir: string, agentSecret: string, shard: string, replica: string): string {
  return writeSecret(dir, `agent-${shard}-${replica}.token`, deriveAgentToken(agentSecret, { shard, replica }));
}

/** Writes the admin token's digest (what `promshard agent-token --admin-digest` prints) and returns its path. */
export function writeAdminDigest(dir: string, adminToken: string): string {
  return writeSecret(dir, 'admin-token.sha256', adminTokenDigest(adminToken));
}

export interface AgentProcessOptions {
  shard: string;
  replica: string;
  port: number;
  prometheusUrl: string;
  configFile: string;
  stateDir: string;
  /** The agent's own credential (writeAgentCredential). */
  tokenFile: string;
  /** The admin token's digest (writeAdminDigest): the admin may then call and force this agent. */
  adminTokenSha256File?: string;
  controllerUrl?: string;
  advertiseUrl?: string;
  /** Extra CLI flags (e.g. ['--pull-interval', '2s']). */
  flags?: string[];
  spawn?: Omit<SpawnOptions, 'readyPattern'>;
}

/** Starts `promshard agent` and resolves once it listens (it prints {"listening":"URL"}). */
export async function startAgentProcess(o: AgentProcessOptions): Promise<{ proc: NodeProcess; url: string }> {
  const args = [
    'agent',
    '--shard', o.shard,
    '--replica', o.replica,
    '--listen', `127.0.0.1:${o.port}`,
    '--prometheus-url', o.prometheusUrl,
    '--config-file', o.configFile,
    '--state-dir', o.stateDir,
    '--token-file', o.tokenFile,
    ...(o.adminTokenSha256File ? ['--admin-token-sha256-file', o.adminTokenSha256File] : []),
    ...(o.controllerUrl ? ['--controller', o.controllerUrl] : []),
    ...(o.advertiseUrl ? ['--advertise-url', o.advertiseUrl] : []),
    ...(o.flags ?? []),
  ];
  const { proc, ready } = await spawnPromshard(args, { ...o.spawn, readyPattern: AGENT_LISTENING });
  return { proc, url: ready };
}

export interface ControllerProcessOptions {
  repo: string;
  port: number;
  stateDir: string;
  tokenFile: string;
  webhookSecretFile: string;
  readTokenFile?: string;
  /** Per-agent credentials: the secret they are derived from (writeAgentCredential). */
  agentSecretFile?: string;
  flags?: string[];
  spawn?: Omit<SpawnOptions, 'readyPattern'>;
}

/** Starts `promshard controller` and resolves once it listens. */
export async function startControllerProcess(o: ControllerProcessOptions): Promise<{ proc: NodeProcess; url: string }> {
  const args = [
    'controller',
    '--repo', o.repo,
    '--listen', `127.0.0.1:${o.port}`,
    '--state-dir', o.stateDir,
    '--token-file', o.tokenFile,
    '--webhook-secret-file', o.webhookSecretFile,
    ...(o.readTokenFile ? ['--read-token-file', o.readTokenFile] : []),
    ...(o.agentSecretFile ? ['--agent-secret-file', o.agentSecretFile] : []),
    ...(o.flags ?? []),
  ];
  const { proc, ready } = await spawnPromshard(args, { ...o.spawn, readyPattern: /promshard controller listening on (\S+)/ });
  return { proc, url: ready };
}

/** Deterministic PRNG (mulberry32) so that a failing run can be replayed from its seed. */
export function seededRandom(seed: number): { next(): number; int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

/** The seed of this run: PROMSHARD_FAULT_SEED when set, otherwise a random one (printed by the caller). */
export function runSeed(envName = 'PROMSHARD_FAULT_SEED'): number {
  const v = process.env[envName];
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`${envName}=${v} is not an integer`);
    return n >>> 0;
  }
  // CI gates a merge, so it replays a known seed; runs elsewhere explore new ones (set the variable
  // to replay a failure, or CI's seed locally).
  if (process.env.CI) return 1;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}

const handedOut = new Set<number>();

/**
 * A free port below Linux's ephemeral range (32768+), for processes that must come back on the same
 * port after a restart: a port from the ephemeral range can be taken meanwhile by any outgoing
 * connection on the machine.
 */
export async function stablePort(): Promise<number> {
  const { createServer } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const port = 16000 + Math.floor(Math.random() * 16000);
    if (handedOut.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found below the ephemeral range');
}
