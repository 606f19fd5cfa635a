// The full reload proof compares /api/v1/status/config with the written file. At 1,000 jobs that costs
// Prometheus ~45 ms of serialising and the agent ~12 ms of YAML parsing on every apply. What it guards
// against is Prometheus reading another file than the agent writes (a wrong --config.file, a volume not
// shared between containers) and another writer racing the agent. Both can be shown more cheaply, per
// Prometheus process, once that process has passed the full proof:
//   - the process is the same one (process_start_time_seconds, read with the reload gauges, unchanged
//     before and after the reload and equal to the one the full proof ran against);
//   - its --config.file (/api/v1/status/flags, read once per process) resolves to the file the agent
//     writes;
//   - POST /-/reload answered 200 after the renames and the gauges show a successful reload since;
//   - the written files are still exactly as the agent left them after the renames (config-files.ts,
//     writtenFilesChanged): whatever Prometheus read in between was the agent's bytes;
//   - the external labels, the only part Prometheus rewrites (expand-external-labels), need no
//     expansion, or are byte-identical to those of a document this process passed the full proof with
//     (its environment and feature flags cannot change while it runs, so it expands them the same way).
// Whenever one of these cannot be shown, the full proof runs instead.
import { realpath } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { writtenFilesChanged, type WrittenFile } from './config-files.ts';
import type { PrometheusClient, ReloadGauges } from './prometheus-client.ts';

/**
 * What can change how Prometheus expands the external labels of `mainConfig`: '' when nothing (no `$` in
 * them), else the text of the top-level `global:` block; null when that block cannot be isolated by
 * lines (not at the top level, or using YAML aliases, anchors, tags or merge keys, which could pull
 * text in from elsewhere): the full proof is then needed.
 */
export function externalLabelsKey(mainConfig: string): string | null {
  if (!mainConfig.includes('$')) return '';
  const lines = mainConfig.split('\n');
  const start = lines.findIndex((l) => /^global:(\s|$)/.test(l));
  if (start < 0) return null;
  let end = start + 1;
  // The block runs until the next top-level key (a line starting with anything but space or a comment).
  while (end < lines.length && (lines[end] === '' || /^[\s#]/.test(lines[end]))) end++;
  const block = lines.slice(start, end).join('\n');
  if (/[*&!]|<</.test(block)) return null;
  return block.includes('$') ? block : '';
}

interface ProvenProcess {
  startTime: number;
  /** externalLabelsKey() of the documents this process passed the full proof with. */
  labelKeys: Set<string>;
  /** --config.file as this process was started, or why it is unknown (`retry`: the read failed, not the flag). */
  flag: Promise<{ path: string } | { unknown: string; retry?: true }>;
}

export class ProcessProofs {
  private proven: ProvenProcess | null = null;

  constructor(
    private readonly client: PrometheusClient,
    private readonly configFile: string,
  ) {}

  /** Records a full proof that passed, with the gauges read after that reload. */
  recordFullProof(after: ReloadGauges, mainConfig: string): void {
    const start = after.processStartTime;
    const key = externalLabelsKey(mainConfig);
    if (start === undefined) return;
    if (this.proven?.startTime !== start) this.proven = { startTime: start, labelKeys: new Set(), flag: this.readFlag() };
    if (key !== null) this.proven.labelKeys.add(key);
  }

  private readFlag(): ProvenProcess['flag'] {
    return this.client.configFileFlag().then(
      (path) => (path === undefined ? { unknown: 'Prometheus does not show its --config.file flag' } : { path }),
      (err: Error) => ({ unknown: `--config.file could not be read: ${err.message}`, retry: true as const }),
    );
  }

  /** Prometheus is gone or restarted: its next process has to pass the full proof again. */
  forget(): void {
    this.proven = null;
  }

  /**
   * Whether the cheap proof can be expected to conclude, from what is known before the reload (to skip
   * fetching /api/v1/status/config alongside the gauges). Only a hint: prove() decides.
   */
  likely(before: ReloadGauges | undefined, mainConfig: string): boolean {
    const key = externalLabelsKey(mainConfig);
    return !!this.proven && before?.processStartTime === this.proven.startTime && key !== null && (key === '' || this.proven.labelKeys.has(key));
  }

  /**
   * undefined when the reload is proven without /api/v1/status/config, else why not (the full proof
   * then decides). `reloadAnswered`: POST /-/reload answered 200, after the renames.
   */
  async prove(input: { before: ReloadGauges | undefined; after: ReloadGauges; reloadAnswered: boolean; written: readonly WrittenFile[]; mainConfig: string }): Promise<string | undefined> {
    const p = this.proven;
    if (!input.reloadAnswered) return 'the reload was not requested over HTTP';
    if (!p) return 'this Prometheus process has not passed the full proof yet';
    const start = input.after.processStartTime;
    if (start === undefined) return 'Prometheus does not expose process_start_time_seconds';
    if (start !== p.startTime || input.before?.processStartTime !== start) return 'Prometheus restarted since its last full proof';
    const key = externalLabelsKey(input.mainConfig);
    if (key === null || (key !== '' && !p.labelKeys.has(key))) return 'the external labels may expand differently from those already proven on this process';
    const flag = await p.flag;
    if ('unknown' in flag) {
      // A read that failed (Prometheus busy, a timeout) is tried again for the next apply: kept, it made
      // every apply on this process pay for the full proof until Prometheus restarted.
      if (flag.retry) p.flag = this.readFlag();
      return flag.unknown;
    }
    return (await this.readsOurFile(flag.path)) ?? writtenFilesChanged(input.written);
  }

  /** Resolved at every proof, not once per process: a symlink on the way may have been repointed since. */
  private async readsOurFile(flag: string): Promise<string | undefined> {
    // A relative path is resolved against Prometheus's working directory, which the agent cannot know.
    if (!isAbsolute(flag)) return `--config.file=${flag} is relative`;
    const [theirs, ours] = await Promise.all([realpath(flag).catch(() => null), realpath(this.configFile).catch(() => null)]);
    if (theirs === null || ours === null || theirs !== ours) return `Prometheus reads --config.file=${flag}, not ${this.configFile}`;
    return undefined;
  }
}
