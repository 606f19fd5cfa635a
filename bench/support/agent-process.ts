// A `promshard agent` in its own process, run from the bundle as users run it (bin/promshard.mjs would
// fall back to tsx whenever another source file is newer, which would measure tsx instead).
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { untilAgentListens } from '../../test/support/agent-listening.ts';

export interface AgentProcess {
  url: string;
  pid: number;
  stderr(): string;
  stop(): Promise<void>;
}

/** Rebuilds dist/ from the current sources and returns the node arguments that run its CLI. */
export function agentEntry(): string[] {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync(process.execPath, [`${root}bin/build-bundle.mjs`], { stdio: 'inherit' });
  const bundle = `${root}dist/promshard.mjs`;
  return ['-e', `import(${JSON.stringify(bundle)}).then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })`];
}

/** RSS of the processes a process started and that still run (the agent's waiting promtool), summed. */
export function descendantsRssMiB(pid: number): number {
  let total = 0;
  const walk = (p: number) => {
    let children: number[] = [];
    try {
      for (const task of readdirSync(`/proc/${p}/task`)) children.push(...readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      return;
    }
    for (const c of children) {
      const rss = rssMiB(c);
      if (Number.isFinite(rss)) total += rss;
      walk(c);
    }
  };
  walk(pid);
  return Math.round(total * 10) / 10;
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : NaN;
}

export async function startAgentProcess(entry: string[], args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<AgentProcess> {
  const child = spawn(process.execPath, [...nodeFlags, ...entry, 'agent', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-2_000_000)));
  const url = await untilAgentListens(child, () => new Error(`agent exited: ${stderr}`));
  return {
    url,
    pid: child.pid!,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
