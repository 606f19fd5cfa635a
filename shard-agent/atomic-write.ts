// Crash-safe file replacement. A reader (Prometheus, or this agent after a restart) sees either the
// whole old file or the whole new one: the bytes go to a temp file in the same directory (rename is
// only atomic within one filesystem), are fsynced, and then renamed over the target; the directory
// is fsynced so that the rename itself survives a power cut.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Temp files carry this marker so that a restarted agent can recognise and remove leftovers. */
export const TEMP_MARKER = '.promshard-tmp-';

export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_MARKER}${basename(target)}.${randomBytes(4).toString('hex')}`);
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes and fsyncs `content` to a new temp file beside `target`; returns the temp path. */
export async function stageFile(target: string, content: string | Buffer, mode = 0o644): Promise<string> {
  await fs.mkdir(dirname(target), { recursive: true });
  const temp = tempPathFor(target);
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Renames a staged temp file over its target and makes the rename durable. */
export async function commitStaged(temp: string, target: string): Promise<void> {
  await fs.rename(temp, target);
  await fsyncDir(dirname(target));
}

export async function writeFileAtomic(target: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const temp = await stageFile(target, content, mode);
  try {
    await commitStaged(temp, target);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 1) + '\n', 0o600);
}

/** Removes a file durably; a file that is already gone is not an error. */
export async function removeDurably(target: string): Promise<void> {
  try {
    await fs.unlink(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await fsyncDir(dirname(target));
}

/** Deletes temp files an interrupted write left in `dir` (not recursive: the agent's files live in known dirs). */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(TEMP_MARKER)) continue;
    await fs.rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
