// Proof that Prometheus runs what was written, from Prometheus's own signals:
//   1. prometheus_config_last_reload_successful == 1;
//   2. prometheus_config_last_reload_success_timestamp_seconds moved past the value read just before
//      the reload (after the files were in place): Prometheus's clock against itself, so clock skew
//      between the agent and Prometheus cannot break the proof. Prometheus 2.42 sets it with
//      sub-microsecond resolution (SetToCurrentTime stores a float), so no one waits for a second
//      boundary. Builds that store whole seconds are detected (an integral value) and may also be
//      compared to the write time floored to the second; the content check below then carries the proof;
//   3. /api/v1/status/config lists the same jobs and targets as the written file (compared
//      semantically, because Prometheus re-serialises the YAML with its defaults): the full proof. After
//      an HTTP reload on a Prometheus process that has passed it before, process-proof.ts may prove the
//      same thing without asking Prometheus to serialise its configuration; when it cannot conclude,
//      the full proof runs.
// A 500 from POST /-/reload or the gauge dropping to 0 is a refusal; Prometheus not answering is
// "unverified", not a failure.
import type { WrittenFile } from './config-files.ts';
import { fingerprintConfig, fingerprintDifference, type ConfigFingerprint } from './config-fingerprint.ts';
import type { ProcessProofs } from './process-proof.ts';
import { PrometheusUnreachable, type PrometheusClient, type ReloadGauges } from './prometheus-client.ts';
import { triggerReload, type ReloadMethod } from './reload-prometheus.ts';

export type ReloadVerdict =
  /** `proof`: how Prometheus was shown to run the written file (see process-proof.ts for 'same-process'). */
  | { kind: 'proven'; reloadMs: number; proof: 'status-config' | 'same-process' }
  | { kind: 'refused'; error: string; reloadMs: number }
  | { kind: 'unproven'; error: string; reloadMs: number }
  | { kind: 'unreachable'; error: string; reloadMs: number };

export function reloadIsFresh(successTimestamp: number, writtenAtMs: number): boolean {
  if (Number.isInteger(successTimestamp)) return successTimestamp >= Math.floor(writtenAtMs / 1000);
  return successTimestamp * 1000 >= writtenAtMs;
}

/**
 * Did a successful reload happen after `before` was read (which was after the write)? Compares
 * Prometheus's timestamp with Prometheus's own earlier value, never with this host's clock: the agent
 * and Prometheus may disagree about the time (clock skew, a remote --prometheus-url), and an agent
 * whose clock runs ahead would otherwise never see a reload as fresh and roll every apply back. A
 * build that stores whole seconds can reload twice within one second without the value moving; only
 * there the write time is still consulted.
 */
export function reloadAdvanced(before: ReloadGauges, after: ReloadGauges, writtenAtMs: number): boolean {
  if (after.successTimestamp > before.successTimestamp) return true;
  return Number.isInteger(after.successTimestamp) && reloadIsFresh(after.successTimestamp, writtenAtMs);
}

export interface ReloadAndProveOptions {
  client: PrometheusClient;
  method: ReloadMethod;
  /** Date.now() once every new file was renamed into place. */
  writtenAtMs: number;
  /** Fingerprint of the main configuration file as written (computed only when the full proof needs it). */
  expected: ConfigFingerprint | (() => ConfigFingerprint);
  /** The main configuration file as written: what process-proof.ts looks at. */
  mainConfig: string;
  /** Proofs per Prometheus process: a full proof that passes is recorded there. */
  processes?: ProcessProofs;
  /** The files as left right after the renames, to try the same-process proof (HTTP reloads only). */
  written?: readonly WrittenFile[];
  /**
   * The gauges, read earlier (while the files were staged), for HTTP reloads only: POST /-/reload
   * answers after its own reload, so the gauges it leaves behind are newer than anything read before
   * it, whether before or after the rename. A signal reload reads them itself, after the write.
   */
  gaugesBefore?: Promise<ReloadGauges | undefined>;
  timeoutMs: number;
  pollMs?: number;
  /** Called at the end of each step (gauges before, reload, proof), for the apply's step timings. */
  mark?: (step: string) => void;
  /** Told why the same-process proof could not conclude (the full proof follows). */
  onFallback?: (reason: string) => void;
}

export async function reloadAndProve(opts: ReloadAndProveOptions): Promise<ReloadVerdict> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const deadline = Date.now() + opts.timeoutMs;
  let before: ReloadGauges | undefined;
  try {
    // Knowing the gauges before the reload tells a fresh failure (1 → 0) from an old one, and a fresh
    // success from an old one by Prometheus's own clock alone (see reloadAdvanced).
    before = (opts.method.kind === 'http' ? await opts.gaugesBefore : undefined) ?? (await opts.client.reloadGauges());
    opts.mark?.('gauges-before');
    const outcome = await triggerReload(opts.client, opts.method, opts.timeoutMs);
    opts.mark?.('reload');
    if (outcome.kind === 'unreachable') return { kind: 'unreachable', error: outcome.error, reloadMs: elapsed() };
    if (outcome.kind === 'refused') return { kind: 'refused', error: outcome.error, reloadMs: elapsed() };
    // After an HTTP reload the loaded configuration is fetched alongside the gauges: with 1,000 jobs
    // each request costs Prometheus tens of milliseconds, and they do not depend on each other. Not
    // when the same-process proof is expected to conclude: that would make Prometheus serialise its
    // configuration for nothing.
    const cheap = outcome.kind === 'done' && opts.processes && opts.written ? { processes: opts.processes, written: opts.written } : undefined;
    let prefetched: Promise<string> | undefined = outcome.kind === 'done' && !cheap?.processes.likely(before, opts.mainConfig) ? opts.client.loadedConfigYaml() : undefined;
    prefetched?.catch(() => undefined);
    for (;;) {
      const g = await opts.client.reloadGauges();
      opts.mark?.('gauges-after');
      const refusedNow = g.successful === 0 && (outcome.kind === 'done' || before?.successful === 1);
      if (refusedNow) {
        return { kind: 'refused', error: 'Prometheus reports prometheus_config_last_reload_successful=0 (its log has the reason)', reloadMs: elapsed() };
      }
      if (g.successful === 1 && reloadAdvanced(before, g, opts.writtenAtMs)) {
        if (cheap && !prefetched) {
          const why = await cheap.processes.prove({ before, after: g, reloadAnswered: true, written: cheap.written, mainConfig: opts.mainConfig });
          opts.mark?.('same-process');
          if (why === undefined) return { kind: 'proven', reloadMs: elapsed(), proof: 'same-process' };
          opts.onFallback?.(why);
        }
        const loadedYaml = await (prefetched ?? opts.client.loadedConfigYaml());
        opts.mark?.('status-config');
        const expected = typeof opts.expected === 'function' ? opts.expected() : opts.expected;
        const difference = fingerprintDifference(expected, fingerprintConfig(loadedYaml));
        opts.mark?.('compare');
        if (difference === undefined) {
          opts.processes?.recordFullProof(g, opts.mainConfig);
          return { kind: 'proven', reloadMs: elapsed(), proof: 'status-config' };
        }
        opts.processes?.forget();
        // Loaded successfully after our write but something else: Prometheus is not reading our file.
        return { kind: 'unproven', error: `Prometheus reloaded but does not run the written configuration: ${difference}`, reloadMs: elapsed() };
      }
      if (Date.now() >= deadline) {
        return {
          kind: 'unproven',
          error: `reload not proven within ${opts.timeoutMs} ms (last_reload_successful=${g.successful}, success timestamp ${g.successTimestamp} < write time ${opts.writtenAtMs / 1000})`,
          reloadMs: elapsed(),
        };
      }
      prefetched = undefined;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 25));
    }
  } catch (err) {
    if (err instanceof PrometheusUnreachable) return { kind: 'unreachable', error: err.message, reloadMs: elapsed() };
    return { kind: 'unproven', error: (err as Error).message, reloadMs: elapsed() };
  }
}
