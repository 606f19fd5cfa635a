// Test-only fault injection: PROMSHARD_AGENT_CRASH_AT=<point> makes the agent process kill itself with
// SIGKILL at that point of an apply, so tests can prove what a restarted agent finds. Nothing else
// reads the variable; unset, these calls cost one comparison.
export type CrashPoint = 'after-write-before-rename' | 'between-renames' | 'after-rename-before-state';

export function crashPoint(point: CrashPoint): void {
  if (process.env.PROMSHARD_AGENT_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
