// `promtool check config` on the new files before any of them reaches the config directory. The files
// are laid out in a scratch directory exactly as they will be, and every other top-level entry of the
// real config directory is symlinked in, so relative references (rule_files, credentials_file, ...)
// resolve the same way Prometheus will resolve them.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, promises as fs, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { MAIN_CONFIG_FILE } from '../core/document/desired-document.ts';
import { TEMP_MARKER } from './atomic-write.ts';
import type { ConfigLayout } from './config-paths.ts';

/**
 * A waiting promtool whose agent died before promtool opened its FIFO blocks in open() for ever (no
 * writer will come). The next agent on the same state directory ends it: by the pid recorded beside
 * its scratch directory, once /proc shows that pid still runs promtool on that directory (a pid
 * reused by anything else is left alone); then the scratch directories go.
 */
async function releaseLeftovers(scratchParent: string): Promise<void> {
  const names = await fs.readdir(scratchParent).catch(() => [] as string[]);
  for (const name of names.filter((n) => /^promtool-[^.]+$/.test(n))) {
    const dir = join(scratchParent, name);
    const pid = Number(await fs.readFile(`${dir}.pid`, 'utf8').catch(() => ''));
    const cmdline = pid > 1 ? await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    if (cmdline.includes(`${dir}${sep}`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await removeScratch(dir);
  }
}

/** A waiting promtool's scratch directory and the files beside it (its output, errors and pid). */
async function removeScratch(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
  for (const suffix of ['.out', '.out.err', '.pid']) await fs.rm(`${dir}${suffix}`, { force: true });
}

/** Resolves once `child` has `path` open (normally long ago); throws if it exits or takes over 2 s. */
async function untilOpenedBy(child: ChildProcess, path: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    if (exited()) throw new Error('the waiting promtool exited');
    const fds = await fs.readdir(`/proc/${child.pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) if ((await fs.readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => '')) === path) return;
    if (Date.now() > deadline) throw new Error('the waiting promtool never opened its configuration');
    await new Promise((r) => setTimeout(r, 2));
  }
}

export type PromtoolVerdict = { ok: true; ms: number } | { ok: false; error: string; ms: number };

/** promtool's arguments, the same for a fresh promtool and a waiting one. */
function checkArgs(syntaxOnly: boolean, mainFile: string): string[] {
  return ['check', 'config', ...(syntaxOnly ? ['--syntax-only'] : []), mainFile];
}

/** An executable regular file: a directory or a file that cannot run would only fail at each check. */
export function promtoolAvailable(path: string | null | undefined): boolean {
  if (!path || !statSync(path, { throwIfNoEntry: false })?.isFile()) return false;
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `syntaxOnly` adds promtool's `--syntax-only`: the configuration is parsed and validated, but files it
 * references (credentials_file, TLS certificates, rule files) are not required to exist on this
 * machine. For demos and test benches where those secrets are absent; production keeps the full check.
 */
export async function promtoolCheck(promtool: string, layout: ConfigLayout, files: readonly { path: string; content: string }[], scratchParent: string, timeoutMs = 30000, syntaxOnly = false, removed: readonly string[] = []): Promise<PromtoolVerdict> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  // Under the parent's real path, as PromtoolRunner's are: contains() then resolves only the other side.
  const scratch = await fs.mkdtemp(join(await fs.realpath(scratchParent).catch(() => scratchParent), 'promtool-'));
  try {
    const mainName = basename(layout.configFile);
    await layOut(scratch, layout, files);
    await dropRemoved(scratch, layout, removed);
    const result = await new Promise<{ code: number | null; out: string; spawnError?: NodeJS.ErrnoException; signal?: string }>((resolve) => {
      execFile(promtool, checkArgs(syntaxOnly, join(scratch, mainName)), { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown; signal?: string | null; killed?: boolean }) | null;
        // promtool's output past maxBuffer (it quotes what it refuses: a 5 MB regex) is a refusal, not a promtool that could not run.
        if (e?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') resolve({ code: 1, out: `${stdout}${stderr}` });
        else if (e && typeof e.code === 'string') resolve({ code: null, out: '', spawnError: e });
        else if (e?.signal) resolve({ code: null, out: '', signal: e.killed ? 'timeout' : e.signal });
        else resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    // The agent was started with this promtool (start-agent.ts refuses one that cannot run): one that
    // stopped running since (removed, made unexecutable) refuses, rather than letting documents through unchecked.
    if (result.spawnError) return { ok: false, error: `promtool check config gave no verdict: promtool at ${promtool} could not run (${result.spawnError.code})`, ms: ms() };
    // Killed (out of memory, an operator) before its verdict: the document is refused, saying so, not
    // with promtool's first output line as if that were its complaint.
    if (result.signal === 'timeout') return noVerdictWithin(timeoutMs, ms());
    if (result.signal) return { ok: false, error: `promtool check config gave no verdict: promtool was killed by ${result.signal}`, ms: ms() };
    return verdict(result.code, result.out, scratch, layout, ms());
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

const MAX_ERROR_CHARS = 16 * 1024;

/** A promtool, fresh or waiting, that gave no verdict within `timeoutMs` (and was killed). */
function noVerdictWithin(timeoutMs: number, ms: number): PromtoolVerdict {
  return { ok: false, error: `promtool check config failed: no verdict within ${timeoutMs} ms`, ms };
}

function verdict(code: number | null, out: string, scratch: string, layout: ConfigLayout, ms: number): PromtoolVerdict {
  if (code === 0) return { ok: true, ms };
  // Show paths as they will be, not as the scratch directory's.
  let text = out.split(scratch + '/').join(layout.configDir + '/').trim();
  // The answer, the log line and the report to the controller carry it: bounded.
  if (text.length > MAX_ERROR_CHARS) text = `${text.slice(0, MAX_ERROR_CHARS)}… (${text.length - MAX_ERROR_CHARS} more characters)`;
  return { ok: false, error: `promtool check config failed: ${text}`, ms };
}

/**
 * Whether the config directory's `entry` contains the scratch directory (a state directory kept inside
 * the config directory): linked into the scratch directory, it would contain itself, a loop for
 * anything walking the tree; no configuration has reason to reference the agent's state.
 */
function holds(layout: ConfigLayout, entry: string, scratch: string): Promise<boolean> {
  return contains(join(layout.configDir, entry), scratch);
}

/**
 * `scratch` is already a real path (made under the scratch parent's realpath by promtoolCheck and
 * PromtoolRunner): resolved again for every entry, it cost a realpath per entry on the apply's path.
 */
async function contains(path: string, scratch: string): Promise<boolean> {
  // Compared through symlinks: an entry that is a link to a directory above the state directory (or a
  // config directory reached through a link) holds it as much as a plain subdirectory does.
  const real = await fs.realpath(path).catch(() => path);
  return scratch.startsWith(real + sep) || scratch.startsWith(path + sep);
}

/**
 * Links the config directory's top-level entries into `scratch` (except the main file, temp files and
 * those `already` linked); returns their names. For the waiting promtool, ahead of the check, and again
 * at the check (completeLayout) for the entries that appeared since.
 */
async function linkConfigDir(scratch: string, layout: ConfigLayout, already: ReadonlySet<string> = new Set()): Promise<Set<string>> {
  const mainName = basename(layout.configFile);
  const linked = new Set<string>();
  for (const dirent of await fs.readdir(layout.configDir, { withFileTypes: true }).catch(() => [])) {
    const entry = dirent.name;
    // As in openUp: only a directory or a link can hold the scratch directory, so a file costs no realpath.
    const mayHold = dirent.isDirectory() || dirent.isSymbolicLink();
    if (entry === mainName || already.has(entry) || entry.startsWith(TEMP_MARKER) || (mayHold && (await holds(layout, entry, scratch)))) continue;
    if (await fs.symlink(join(layout.configDir, entry), join(scratch, entry)).then(() => true, () => false)) linked.add(entry);
  }
  return linked;
}

/**
 * At the check, brings `scratch` (linked ahead by linkConfigDir) to what layOut() would have made:
 * entries that appeared in the config directory since linked too (links to entries since removed
 * dangle: absent), then the document's other files placed.
 */
async function completeLayout(scratch: string, layout: ConfigLayout, files: readonly { path: string; content: string }[], linked: Set<string>): Promise<void> {
  await linkConfigDir(scratch, layout, linked);
  for (const f of files) if (f.path !== MAIN_CONFIG_FILE) await placeFile(scratch, layout, f.path, f.content);
}

/**
 * Makes `at` (in the scratch directory, standing for the config directory's `from`) a real directory:
 * a link to `from` becomes a directory of links to its entries, so that files can be added to it or
 * taken out of it without touching the config directory, and the rest stays as it is there.
 */
async function openUp(scratch: string, at: string, from: string): Promise<void> {
  const st = await fs.lstat(at).catch(() => null);
  if (st && !st.isSymbolicLink()) return;
  if (st) await fs.unlink(at);
  await fs.mkdir(at);
  if (!st) return;
  for (const entry of await fs.readdir(from, { withFileTypes: true }).catch(() => [])) {
    // Only a directory or a link can hold the scratch directory: a directory of many files (file_sd)
    // costs no realpath per file on the apply's path.
    const mayHold = entry.isDirectory() || entry.isSymbolicLink();
    if (entry.name.startsWith(TEMP_MARKER) || (mayHold && (await contains(join(from, entry.name), scratch)))) continue;
    await fs.symlink(join(from, entry.name), join(at, entry.name)).catch(() => undefined);
  }
}

/**
 * Writes a document file (not the main one) into `scratch` where the apply will put it: beside what
 * its directory already holds in the config directory, which stays there after the apply (a document's
 * secrets/token next to an operator's secrets/other), replacing only a file of the same name.
 */
async function placeFile(scratch: string, layout: ConfigLayout, path: string, content: string): Promise<void> {
  await openDirsOf(scratch, layout, path, false);
  const dest = join(scratch, path);
  await fs.rm(dest, { force: true });
  await fs.writeFile(dest, content);
}

/**
 * Takes out of `scratch` the files of the applied document that this apply removes (`removed`, document
 * paths): linked in from the config directory, where they still are until the renames, they let
 * promtool pass a configuration that references them, and Prometheus then found them gone (a rule file
 * silently dropped, credentials unreadable at every scrape).
 */
async function dropRemoved(scratch: string, layout: ConfigLayout, removed: readonly string[]): Promise<void> {
  for (const path of removed) {
    if (await openDirsOf(scratch, layout, path, true)) await fs.unlink(join(scratch, path)).catch(() => undefined);
  }
}

/**
 * Opens up (openUp) each directory on the way to document path `path` in `scratch`. With
 * `existingOnly`, stops at the first one `scratch` lacks and returns false: nothing below it to take out.
 */
async function openDirsOf(scratch: string, layout: ConfigLayout, path: string, existingOnly: boolean): Promise<boolean> {
  let at = scratch;
  let from = layout.configDir;
  for (const segment of path.split('/').slice(0, -1)) {
    at = join(at, segment);
    from = join(from, segment);
    if (existingOnly && !(await fs.lstat(at).catch(() => null))) return false;
    await openUp(scratch, at, from);
  }
  return true;
}

/**
 * Lays the new files out in `scratch` as they will be in the config directory: every top-level entry of
 * the config directory linked in, the main file written, the document's other files placed.
 */
async function layOut(scratch: string, layout: ConfigLayout, files: readonly { path: string; content: string }[]): Promise<void> {
  const mainName = basename(layout.configFile);
  await linkConfigDir(scratch, layout);
  for (const f of files) {
    if (f.path === MAIN_CONFIG_FILE) await fs.writeFile(join(scratch, mainName), f.content);
    else await placeFile(scratch, layout, f.path, f.content);
  }
}

/** A promtool started ahead of time, blocked reading its configuration from a FIFO. */
interface Waiting {
  scratch: string;
  /** Config directory entries linked into `scratch` while waiting. */
  linked: Set<string>;
  /** The scratch directory's inode: one removed meanwhile (a tmp cleaner) and recreated by the check's own files would lack the links. */
  scratchIno: number;
  /**
   * True once promtool was seen holding its FIFO open (/proc) and the agent's read-write end was
   * swapped for a write-only one (opened first, so a writer is never missing): from then on, promtool
   * dying makes the agent's write fail (EPIPE) instead of blocking on a FIFO only the agent reads.
   * False when promtool did not open it within 2 s, or exited.
   */
  ready: Promise<boolean>;
  fifoPath: string;
  fifo: import('node:fs/promises').FileHandle;
  child: ChildProcess;
  outFile: string;
  exited: Promise<number | null>;
  done: boolean;
}

/**
 * Runs `promtool check config` with the start-up of the Go binary (~25 ms, half of a 1,000-job check)
 * off the apply's path: between applies one promtool process is already started, with the same
 * arguments as promtoolCheck(), on a scratch directory whose main file is a FIFO that the agent holds
 * open read-write; promtool opens it and blocks reading. A check lays the other files out and links
 * the config directory's entries in (as promtoolCheck() does), then writes the configuration into the
 * FIFO and closes it, which is promtool's end of file: promtool checks it exactly as it would a regular
 * file and exits. The close waits until promtool has the FIFO open (/proc/<pid>/fd): closed earlier,
 * the FIFO would lose what was written. Should the agent die, the kernel closes its end: promtool reads
 * an empty file and exits, nothing is left behind. Without mkfifo or /proc, or while no process is
 * waiting, promtoolCheck() runs instead.
 */
export class PromtoolRunner {
  private waiting: Waiting | null = null;
  private starting: Promise<void> | null = null;
  private closed = false;
  private releasing: Promise<void> | null = null;
  private parent: Promise<string> | undefined;

  constructor(
    private readonly promtool: string,
    private readonly layout: ConfigLayout,
    private readonly scratchParent: string,
    private readonly syntaxOnly: boolean,
    private readonly timeoutMs = 30000,
  ) {}

  /** The waiting promtool's pid, if one waits (for tests and diagnostics). */
  get waitingPid(): number | undefined {
    return this.waiting && !this.waiting.done ? this.waiting.child.pid : undefined;
  }

  /** Resolves once the waiting promtool has its configuration open (false when none waits). */
  async waitingOpened(): Promise<boolean> {
    const w = this.waiting;
    return !!w && w.ready;
  }

  /** Starts the next waiting promtool, unless one waits (or is starting) already. Never throws. */
  warm(): Promise<void> {
    if (this.closed || this.waiting || this.starting) return this.starting ?? Promise.resolve();
    this.starting = this.release()
      .then(() => this.start())
      .then((w) => {
        if (this.closed) return void this.discard(w);
        this.waiting = w;
      })
      .catch(() => undefined)
      .finally(() => (this.starting = null));
    return this.starting;
  }

  /** `removed`: document paths of the applied document that this apply removes (see dropRemoved). */
  async check(files: readonly { path: string; content: string }[], removed: readonly string[] = []): Promise<PromtoolVerdict> {
    // A fresh promtool's scratch directory looks like a left-over: made before they are cleared, it
    // would be removed under the check (the first apply after start-up came before that clearing ended).
    await this.release();
    const w = this.waiting;
    this.waiting = null;
    if (!w || w.done) {
      if (w) void this.discard(w);
      return promtoolCheck(this.promtool, this.layout, files, this.scratchParent, this.timeoutMs, this.syntaxOnly, removed);
    }
    const started = performance.now();
    try {
      return await this.checkWith(w, files, removed, started);
    } catch {
      // The waiting process went away under us (killed, or the FIFO broke): check the ordinary way.
      return promtoolCheck(this.promtool, this.layout, files, this.scratchParent, this.timeoutMs, this.syntaxOnly, removed);
    } finally {
      void this.discard(w);
    }
  }

  private async checkWith(w: Waiting, files: readonly { path: string; content: string }[], removed: readonly string[], started: number): Promise<PromtoolVerdict> {
    if ((await fs.lstat(w.scratch).catch(() => null))?.ino !== w.scratchIno) throw new Error('the scratch directory was removed');
    await completeLayout(w.scratch, this.layout, files, w.linked);
    await dropRemoved(w.scratch, this.layout, removed);
    const main = files.find((f) => f.path === MAIN_CONFIG_FILE)!.content;
    // Should promtool open the main file a second time (a file_sd glob matching it), it must find
    // the same bytes, as with a fresh promtool, not a FIFO nobody writes: a regular copy replaces
    // the FIFO before its end of file.
    const copy = join(w.scratch, `${TEMP_MARKER}main`);
    if (!(await w.ready)) throw new Error('the waiting promtool is not reading its FIFO');
    // Written in one go: promtool reads while this writes once the FIFO's 64 KB are full.
    await Promise.all([w.fifo.writeFile(main), fs.writeFile(copy, main)]);
    await fs.rename(copy, w.fifoPath);
    await w.fifo.close();
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([w.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), this.timeoutMs)))]);
    clearTimeout(timer);
    const ms = Math.round(performance.now() - started);
    if (code === 'timeout') {
      w.child.kill('SIGKILL');
      return noVerdictWithin(this.timeoutMs, ms);
    }
    // Killed by a signal before its verdict (not by us): a fresh promtool checks instead (check()).
    if (code === null) throw new Error('the waiting promtool was killed during the check');
    if (code === 0) return { ok: true, ms };
    const read = (path: string) => fs.readFile(path, 'utf8').catch(() => '');
    return verdict(code, (await read(w.outFile)) + (await read(`${w.outFile}.err`)), w.scratch, this.layout, ms);
  }

  /** Stops the waiting promtool (agent shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting;
    const w = this.waiting;
    this.waiting = null;
    if (w) await this.discard(w);
  }

  /** Clears what a killed agent left in the scratch parent, once, before this runner makes anything there. */
  private release(): Promise<void> {
    return (this.releasing ??= this.realParent()
      .then(releaseLeftovers)
      .catch(() => undefined));
  }

  /**
   * The scratch parent as an absolute path without symlinks: /proc shows promtool's open FIFO, and its
   * command line, by that path, and a relative or symlinked --state-dir would never match it (every
   * check then waited up to 2 s for an open it could not see, and fell back to a fresh promtool).
   */
  private realParent(): Promise<string> {
    return (this.parent ??= fs.realpath(this.scratchParent));
  }

  private async start(): Promise<Waiting> {
    const scratch = await fs.mkdtemp(join(await this.realParent(), 'promtool-'));
    const outFile = `${scratch}.out`;
    try {
      const fifoPath = join(scratch, basename(this.layout.configFile));
      await fs.access('/proc/self/fd');
      await new Promise<void>((resolve, reject) => execFile('mkfifo', ['-m', '600', fifoPath], (err) => (err ? reject(err) : resolve())));
      // Read-write: opening a FIFO so never blocks (Linux), and promtool's read-only open finds a writer.
      const fifo = await fs.open(fifoPath, 'r+');
      // Standard output and error apart, to be joined as promtoolCheck() joins them.
      const out = await fs.open(outFile, 'w', 0o600);
      const err = await fs.open(`${outFile}.err`, 'w', 0o600);
      let child: ChildProcess;
      try {
        child = spawn(this.promtool, checkArgs(this.syntaxOnly, fifoPath), { stdio: ['ignore', out.fd, err.fd] });
      } finally {
        await out.close();
        await err.close();
      }
      const w: Waiting = { scratch, linked: new Set(), scratchIno: (await fs.lstat(scratch)).ino, ready: Promise.resolve(false), fifoPath, fifo, child, outFile, done: false, exited: Promise.resolve(null) };
      w.exited = new Promise((resolve) => {
        child.once('error', () => ((w.done = true), resolve(null)));
        child.once('exit', (code) => ((w.done = true), resolve(code)));
      });
      // A waiting promtool must not keep the agent's process alive.
      child.unref();
      if (child.pid) await fs.writeFile(`${scratch}.pid`, String(child.pid), { mode: 0o600 });
      // Done while waiting, not at the check: links to the config directory, and seeing promtool open.
      w.linked = await linkConfigDir(scratch, this.layout);
      w.ready = untilOpenedBy(child, fifoPath, () => w.done).then(
        async () => {
          const writer = await fs.open(fifoPath, fsConstants.O_WRONLY);
          const readWrite = w.fifo;
          w.fifo = writer;
          await readWrite.close();
          return true;
        },
        () => false,
      );
      return w;
    } catch (err) {
      await removeScratch(scratch);
      throw err;
    }
  }

  private async discard(w: Waiting): Promise<void> {
    if (!w.done) w.child.kill('SIGKILL');
    await w.ready;
    await w.fifo.close().catch(() => undefined);
    // Waited for, so referenced again: an unreferenced child's exit would not keep Node running.
    w.child.ref();
    await w.exited;
    await removeScratch(w.scratch);
  }
}
