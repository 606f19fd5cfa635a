// Child processes of the demo, tracked by pid so that every one of them is stopped on the way out:
// SIGTERM first, SIGKILL after a grace period, and a synchronous SIGKILL from the 'exit' handler for
// anything still alive if the demo itself dies abruptly (an uncaught error).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface TrackedChild {
  name: string;
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  /** Recent output (stdout + stderr), for error messages. */
  output(): string;
}

export class ProcessTracker {
  private readonly children = new Map<number, TrackedChild>();
  private readonly onExit = () => this.killAllNow();

  constructor() {
    process.on('exit', this.onExit);
  }

  get pids(): number[] {
    return [...this.children.keys()];
  }

  spawn(name: string, command: string, args: string[], opts: SpawnOptions = {}): TrackedChild {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    child.on('error', (err) => (out += `\n${err.message}`));
    if (child.pid === undefined) {
      // spawn failed synchronously (ENOENT arrives as an 'error' event); surface it as a throw.
      throw new Error(`could not start ${name} (${command})`);
    }
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const pid = child.pid;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const tracked: TrackedChild = { name, pid, child, exited, output: () => out };
    this.children.set(pid, tracked);
    void exited.then(() => this.children.delete(pid));
    return tracked;
  }

  /** SIGTERM every child, SIGKILL those still running after `graceMs`; resolves when all have exited. */
  async stopAll(graceMs = 5000): Promise<void> {
    const all = [...this.children.values()];
    for (const c of all) signal(c.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      for (const c of this.children.values()) signal(c.pid, 'SIGKILL');
    }, graceMs);
    await Promise.all(all.map((c) => c.exited));
    clearTimeout(timer);
  }

  async stop(c: TrackedChild, graceMs = 5000): Promise<void> {
    if (!this.children.has(c.pid)) return;
    signal(c.pid, 'SIGTERM');
    const timer = setTimeout(() => signal(c.pid, 'SIGKILL'), graceMs);
    await c.exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort (process 'exit', second Ctrl-C). */
  killAllNow(): void {
    for (const c of this.children.values()) signal(c.pid, 'SIGKILL');
  }

  dispose(): void {
    process.off('exit', this.onExit);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}
