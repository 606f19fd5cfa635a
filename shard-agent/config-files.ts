// Reading and replacing the set of files Prometheus reads. Guarantee for multi-file documents: each
// file is replaced atomically; the set is not (POSIX has no multi-file rename). To keep the window
// small, every file is staged and fsynced before the first rename, and the main prometheus.yml is
// renamed last, so a Prometheus that happens to restart mid-way reads the old main file. A crash in
// the window leaves a mixture on disk that the restarted agent detects by hash and replaces with the
// complete previous set before anything reloads Prometheus (see startup-reconcile.ts).
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { hashFiles, MAIN_CONFIG_FILE, sha256Hex } from '../core/document/desired-document.ts';
import { commitStaged, fsyncDir, removeDurably, stageFile, writeFileAtomic } from './atomic-write.ts';
import { targetPathFor, type ConfigLayout } from './config-paths.ts';
import { crashPoint } from './crash-hooks.ts';
import type { FileDigest, FileSnapshot } from './state-store.ts';

export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function snapshotHash(files: readonly { path: string; content: string | null }[]): string {
  return hashFiles(files.filter((f) => f.content !== null).map((f) => ({ path: f.path, sha256: sha256Hex(f.content!) })));
}

/** The current on-disk contents of `paths` (document paths). */
export async function snapshotOnDisk(layout: ConfigLayout, paths: Iterable<string>, meta: { revision: string | null; generation: number | null }): Promise<FileSnapshot> {
  const files: FileSnapshot['files'] = [];
  for (const path of [...new Set(paths)].sort()) files.push({ path, content: await readIfExists(targetPathFor(layout, path)) });
  return { ...meta, hash: snapshotHash(files), files };
}

/** Does the disk hold exactly `files` for the paths in `universe` (other paths absent)? */
export async function diskMatches(layout: ConfigLayout, files: readonly FileDigest[], universe: Iterable<string>): Promise<boolean> {
  const want = new Map(files.map((f) => [f.path, f.sha256]));
  for (const path of new Set([...universe, ...want.keys()])) {
    const content = await readIfExists(targetPathFor(layout, path));
    const expected = want.get(path);
    if (expected === undefined ? content !== null : content === null || sha256Hex(content) !== expected) return false;
  }
  return true;
}

export interface StagedFileSet {
  layout: ConfigLayout;
  /** `ino`: the staged temp file's inode, which the rename keeps: the target holds our file while it has this inode. */
  staged: { temp: string; target: string; ino: bigint; sha256: string }[];
  removePaths: readonly string[];
}

/** A file as the agent left it right after the renames, to tell later whether anyone touched it. */
export interface WrittenFile {
  target: string;
  sha256: string;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/**
 * Writes and fsyncs every file to a temp file beside its target, nothing renamed yet (auxiliary files
 * first, the main file last, the order of the renames). Safe to run while promtool checks the same
 * files: Prometheus reads none of the temp files, and discardStaged() removes them if the check fails.
 */
export async function stageFileSet(layout: ConfigLayout, files: readonly { path: string; content: string; sha256?: string }[], removePaths: readonly string[]): Promise<StagedFileSet> {
  const ordered = [...files].sort((a, b) => Number(a.path === MAIN_CONFIG_FILE) - Number(b.path === MAIN_CONFIG_FILE));
  const staged: StagedFileSet['staged'] = [];
  try {
    // Staged one after another: the disk serialises the fsyncs anyway, and a failure leaves fewer temps.
    for (const f of ordered) {
      const target = targetPathFor(layout, f.path);
      const temp = await stageFile(target, f.content);
      // Pushed before the stat, so that a failing stat still leaves the temp file to discard.
      const entry = { temp, target, ino: 0n, sha256: f.sha256 ?? sha256Hex(f.content) };
      staged.push(entry);
      entry.ino = (await fs.stat(temp, { bigint: true })).ino;
    }
  } catch (err) {
    await discardStaged({ layout, staged, removePaths });
    throw err;
  }
  return { layout, staged, removePaths };
}

export async function discardStaged(set: StagedFileSet): Promise<void> {
  await Promise.all(set.staged.map((s) => fs.rm(s.temp, { force: true })));
}

/**
 * Renames the staged files into place, the main file last, and makes the renames durable with one fsync
 * per directory: the auxiliary files' directories before the main file is renamed (so a power cut cannot
 * keep the new main file with old auxiliary ones), the main file's directory after. Returns Date.now()
 * after the last rename.
 */
export async function commitFileSet(set: StagedFileSet): Promise<number> {
  crashPoint('after-write-before-rename');
  const { staged } = set;
  const auxDirs = new Set<string>();
  for (let i = 0; i < staged.length - 1; i++) {
    await fs.rename(staged[i].temp, staged[i].target);
    auxDirs.add(dirname(staged[i].target));
    if (i === 0) crashPoint('between-renames');
  }
  for (const d of auxDirs) await fsyncDir(d);
  const main = staged[staged.length - 1];
  if (main) await commitStaged(main.temp, main.target);
  const removedDirs = new Set<string>();
  for (const p of set.removePaths) {
    const target = targetPathFor(set.layout, p);
    if (await fs.unlink(target).then(() => true, (err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return false; throw err; })) removedDirs.add(dirname(target));
  }
  for (const d of removedDirs) await fsyncDir(d);
  return Date.now();
}

/**
 * Each committed file as it is now (call right after commitFileSet). A file whose inode is no longer the
 * staged one was already replaced by someone else: its identity is recorded with ino 0, which never
 * matches, so writtenFilesChanged() reports it.
 */
export async function identifyWritten(set: StagedFileSet): Promise<WrittenFile[]> {
  return Promise.all(
    set.staged.map(async (s) => {
      const st = await fs.stat(s.target, { bigint: true });
      return { target: s.target, sha256: s.sha256, dev: st.dev, ino: st.ino === s.ino ? st.ino : 0n, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
    }),
  );
}

/**
 * Why the files are not exactly as identifyWritten() left them, or undefined when they are: same inode
 * (not renamed over), same size, mtime and ctime (not written in place; ctime cannot be set back from
 * user space), and the same bytes (sha256). A racing writer shows in at least one of these.
 */
export async function writtenFilesChanged(files: readonly WrittenFile[]): Promise<string | undefined> {
  for (const f of files) {
    let st: import('node:fs').BigIntStats;
    let content: Buffer;
    try {
      st = await fs.stat(f.target, { bigint: true });
      content = await fs.readFile(f.target);
    } catch (err) {
      return `${f.target} cannot be read back: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
    if (f.ino === 0n || st.dev !== f.dev || st.ino !== f.ino) return `${f.target} was replaced by another file after the agent wrote it`;
    if (st.size !== f.size || st.mtimeNs !== f.mtimeNs || st.ctimeNs !== f.ctimeNs) return `${f.target} was modified after the agent wrote it`;
    if (sha256Hex(content) !== f.sha256) return `${f.target} no longer holds the bytes the agent wrote`;
  }
  return undefined;
}

/** Puts a snapshot back on disk (files with `content: null` are removed). */
export async function restoreSnapshot(layout: ConfigLayout, snapshot: FileSnapshot): Promise<number> {
  const present = snapshot.files.filter((f) => f.content !== null) as { path: string; content: string }[];
  const absent = snapshot.files.filter((f) => f.content === null).map((f) => f.path);
  // Same order discipline as a forward write: auxiliary files first, the main file last.
  const ordered = [...present].sort((a, b) => Number(a.path === MAIN_CONFIG_FILE) - Number(b.path === MAIN_CONFIG_FILE));
  for (const f of ordered) await writeFileAtomic(targetPathFor(layout, f.path), f.content);
  for (const p of absent) await removeDurably(targetPathFor(layout, p));
  return Date.now();
}
