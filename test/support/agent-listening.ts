// `promshard agent` prints {"listening":"URL"} on its standard output once it serves (agent-command.ts):
// what a test or bench running it as a process of its own waits for.
import type { ChildProcess } from 'node:child_process';

/** The agent's line saying where it listens; the URL is the first group. */
export const AGENT_LISTENING = /\{"listening":"([^"]+)"\}/;

/** The URL `child` (an agent) prints once it listens; rejects with `exitError` if it exits before that. */
export function untilAgentListens(child: ChildProcess, exitError: (e: { code: number | null; signal: NodeJS.Signals | null }) => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const m = AGENT_LISTENING.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code, signal) => reject(exitError({ code, signal })));
  });
}
