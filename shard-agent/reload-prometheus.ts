// Asks Prometheus to re-read its configuration, over HTTP (POST /-/reload, which answers after the
// reload with Prometheus's own error text) or with SIGHUP (which answers nothing: the outcome is only
// visible in Prometheus's metrics, see verify-reload.ts).
import { readFileSync } from 'node:fs';
import { PrometheusUnreachable, type PrometheusClient } from './prometheus-client.ts';

export type ReloadMethod = { kind: 'http' } | { kind: 'signal'; pid?: number; pidFile?: string };

export type ReloadOutcome =
  | { kind: 'done' } // HTTP: Prometheus says it reloaded
  | { kind: 'signalled' } // SIGHUP delivered; outcome still unknown
  | { kind: 'refused'; error: string }
  | { kind: 'unreachable'; error: string };

function currentPid(method: { pid?: number; pidFile?: string }): number {
  // The pid file is re-read every time because Prometheus gets a new pid whenever it restarts.
  if (method.pidFile) {
    const pid = Number(readFileSync(method.pidFile, 'utf8').trim());
    if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`pid file ${method.pidFile} holds no usable pid`);
    return pid;
  }
  if (method.pid && method.pid > 1) return method.pid;
  throw new Error('signal reload needs --prometheus-pid or --prometheus-pid-file');
}

export async function triggerReload(client: PrometheusClient, method: ReloadMethod, timeoutMs: number): Promise<ReloadOutcome> {
  if (method.kind === 'signal') {
    try {
      process.kill(currentPid(method), 'SIGHUP');
      return { kind: 'signalled' };
    } catch (err) {
      return { kind: 'unreachable', error: `cannot signal Prometheus: ${(err as Error).message}` };
    }
  }
  try {
    const r = await client.reload(timeoutMs);
    return r.ok ? { kind: 'done' } : { kind: 'refused', error: r.error };
  } catch (err) {
    if (err instanceof PrometheusUnreachable) return { kind: 'unreachable', error: err.message };
    throw err;
  }
}
