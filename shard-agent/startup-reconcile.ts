// A restarted agent must know exactly what is on disk before it answers anything. Without a journal the
// state file is checked against the disk. With one, an apply was interrupted (crash, kill -9, power
// cut) and the disk holds the previous set, the new set, or — for a multi-file document cut between
// renames — a mixture; a mixture is replaced by the complete previous set so that no mixture is
// ever reloaded.
import { dirname } from 'node:path';
import { MAIN_CONFIG_FILE, sha256Hex } from '../core/document/desired-document.ts';
import type { Logger } from '../core/log/logger.ts';
import { removeStaleTempFiles } from './atomic-write.ts';
import { targetPathFor, type ConfigLayout } from './config-paths.ts';
import { diskMatches, restoreSnapshot } from './config-files.ts';
import type { FileDigest, PersistedState, StateStore } from './state-store.ts';

export type StartupOutcome =
  | 'fresh' // no state yet: nothing applied by this agent
  | 'clean' // state matches the disk
  | 'disk-differs' // the files were changed behind the agent's back: applied is unknown until the next apply
  | 'interrupted-apply-old-on-disk' // crash before any rename: the previous configuration is on disk and kept
  | 'interrupted-apply-new-on-disk' // crash after the renames: the new configuration is on disk, verification pending
  | 'interrupted-apply-restored-old'; // crash between renames: the mixture was replaced by the previous set

export interface StartupReport {
  outcome: StartupOutcome;
  detail: string;
  /** Revision on disk after reconciliation (null when unknown or not from this agent). */
  revisionOnDisk: string | null;
  removedTempFiles: number;
}

export async function reconcileAtStartup(store: StateStore, layout: ConfigLayout, shard: string, log: Logger): Promise<{ state: PersistedState; report: StartupReport }> {
  const state: PersistedState = (await store.loadState()) ?? { version: 1, shard, applied: null, owners: {}, recent: [] };
  const journal = await store.loadJournal();
  const previous = await store.loadPrevious();

  const dirs = new Set<string>([layout.configDir, store.dir]);
  for (const f of [...(state.applied?.files ?? []), ...(journal?.files ?? [])]) dirs.add(dirname(targetPathFor(layout, f.path)));
  let removedTempFiles = 0;
  for (const d of dirs) removedTempFiles += (await removeStaleTempFiles(d)).length;

  const finish = async (outcome: StartupOutcome, detail: string): Promise<{ state: PersistedState; report: StartupReport }> => {
    await store.saveState(state);
    if (journal) await store.clearJournal();
    const report = { outcome, detail, revisionOnDisk: state.applied?.revision ?? null, removedTempFiles };
    (outcome === 'clean' || outcome === 'fresh' ? log.info : log.warn)('startup reconciliation', { ...report });
    return { state, report };
  };

  if (journal) {
    const previousDigests: FileDigest[] = (previous?.files ?? []).filter((f) => f.content !== null).map((f) => ({ path: f.path, sha256: sha256Hex(f.content!) }));
    const universe = new Set([...(previous?.files ?? []).map((f) => f.path), ...journal.files.map((f) => f.path)]);
    const what = `revision ${journal.revision} (hash ${journal.hash.slice(0, 12)})`;
    if (await diskMatches(layout, journal.files, universe)) {
      state.applied = { revision: journal.revision, generation: journal.generation, hash: journal.hash, appliedAt: journal.startedAt, verified: false, files: journal.files };
      return finish('interrupted-apply-new-on-disk', `an apply of ${what} was interrupted after its files were in place; the new configuration is on disk and will be verified against Prometheus`);
    }
    if (previous && previous.hash === journal.previousHash && (await diskMatches(layout, previousDigests, universe))) {
      return finish('interrupted-apply-old-on-disk', `an apply of ${what} was interrupted before its files were in place; the previous configuration (revision ${previous.revision ?? 'unknown'}) is on disk and kept`);
    }
    if (previous && previous.hash === journal.previousHash) {
      await restoreSnapshot(layout, previous);
      return finish('interrupted-apply-restored-old', `an apply of ${what} was interrupted between file renames; the previous configuration (revision ${previous.revision ?? 'unknown'}) was restored as a whole`);
    }
    state.applied = null;
    return finish('disk-differs', `an apply of ${what} was interrupted and the previous file set is not recorded; the configuration on disk is unknown until the next apply`);
  }

  if (!state.applied) return finish('fresh', 'no configuration applied by this agent yet');
  const paths = new Set([MAIN_CONFIG_FILE, ...state.applied.files.map((f) => f.path)]);
  if (await diskMatches(layout, state.applied.files, paths)) return finish('clean', `revision ${state.applied.revision} is on disk as recorded`);
  const recorded = state.applied.revision;
  state.applied = null;
  return finish('disk-differs', `the files on disk are not revision ${recorded} as recorded (changed outside the agent); treated as unknown until the next apply`);
}
