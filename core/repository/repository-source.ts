// Reads the raw files of a configuration repository, from a directory or from a git revision, refusing
// anything that could hurt the compiler: oversized or binary files, symlinks that leave the repository.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { parseCommit, type GitObjectReader } from './git-object-reader.ts';

const execFileAsync = promisify(execFile);

/** Largest team file or shards.yaml accepted. Real team files are a few KiB. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Most files a repository may hold under teams/ (a runaway generator, not a real fleet, goes past this). */
export const MAX_FILES = 50_000;

export interface SourceFile {
  /** Relative to the repository root, forward slashes. */
  path: string;
  /** Git blob id of the contents, when read from git (the compile cache's key). */
  blob?: string;
  /** Contents, or undefined when the file was refused (see `problem`). */
  bytes?: Buffer;
  problem?: { ruleId: 'file-unreadable'; message: string };
}

export interface RepositorySource {
  /** Human description (a directory or `git:<ref>`). */
  origin: string;
  files: SourceFile[];
}

/** Configuration files are shards.yaml and teams/**.yaml|yml; everything else (READMEs) is ignored. */
export function isConfigPath(path: string): boolean {
  return path === 'shards.yaml' || path === 'shards.yml' || (path.startsWith('teams/') && /\.ya?ml$/.test(path));
}

export function readRepositoryFromDirectory(root: string, maxFileBytes = MAX_FILE_BYTES): RepositorySource {
  const realRoot = realpathSync(root);
  const files: SourceFile[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.')) continue;
      const abs = join(dir, entry.name);
      const rel = relative(root, abs).split(sep).join('/');
      if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(abs);
        } catch {
          if (isConfigPath(rel)) files.push({ path: rel, problem: { ruleId: 'file-unreadable', message: 'symbolic link points nowhere' } });
          continue;
        }
        if (target !== realRoot && !target.startsWith(realRoot + sep)) {
          files.push({ path: rel, problem: { ruleId: 'file-unreadable', message: `symbolic link leaves the repository (points to ${target}); refused` } });
          continue;
        }
        if (statSync(abs).isDirectory()) {
          continue; // links to directories inside the repo would make a file appear twice
        }
      } else if (entry.isDirectory()) {
        if (rel === 'teams' || rel.startsWith('teams/') || rel === '') visit(abs);
        continue;
      } else if (!entry.isFile()) {
        continue;
      }
      if (!isConfigPath(rel)) continue;
      if (files.length >= MAX_FILES) throw new Error(`repository holds more than ${MAX_FILES} configuration files; refusing to read further`);
      const st = lstatSync(abs);
      const size = st.isSymbolicLink() ? statSync(abs).size : st.size;
      if (size > maxFileBytes) {
        files.push({ path: rel, problem: { ruleId: 'file-unreadable', message: `file is ${size} bytes, over the ${maxFileBytes}-byte limit for one file; split it` } });
        continue;
      }
      files.push({ path: rel, bytes: readFileSync(abs) });
    }
  };
  visit(root);
  return { origin: root, files };
}

/**
 * Reads the configuration files of one git revision without a checkout (`ls-tree` + one `cat-file --batch`).
 * Symlinks in git are blobs holding the link text; they are refused outright, since their target
 * cannot be trusted to exist on the machine that renders.
 */
export async function readRepositoryFromGit(
  gitDir: string,
  ref: string,
  subdir = '',
  maxFileBytes = MAX_FILE_BYTES,
): Promise<RepositorySource> {
  const prefix = subdir ? subdir.replace(/\/+$/, '') + '/' : '';
  const { stdout } = await execFileAsync('git', ['-C', gitDir, 'ls-tree', '-r', '-l', '-z', ref, '--', prefix || '.'], { maxBuffer: 256 * 1024 * 1024 });
  const entries: TreeBlob[] = [];
  for (const rec of stdout.split('\0')) {
    if (!rec) continue;
    const m = /^(\d+) (\w+) ([0-9a-f]+)\s+(-|\d+)\t(.*)$/s.exec(rec);
    if (!m || m[2] !== 'blob') continue;
    const path = prefix && m[5].startsWith(prefix) ? m[5].slice(prefix.length) : m[5];
    if (!isConfigPath(path)) continue;
    entries.push({ mode: m[1], sha: m[3], size: m[4] === '-' ? 0 : Number(m[4]), path });
  }
  return sourceOfEntries(`git:${ref}`, entries, maxFileBytes, undefined, async (wanted) => {
    const blobs = await readBlobs(gitDir, wanted.map((e) => e.sha));
    return wanted.map((e, i) => ({ ...e, bytes: blobs[i] }));
  });
}

interface TreeBlob {
  mode: string;
  sha: string;
  /** Unknown (-1) when listed from tree objects, which do not hold sizes. */
  size: number;
  path: string;
}

/**
 * The files of one revision from its listing: symlinks and oversized files refused, bytes the caller
 * holds reused, the others read with `read` (which may refuse an oversized one by leaving `bytes` out).
 */
async function sourceOfEntries(
  origin: string,
  entries: TreeBlob[],
  maxFileBytes: number,
  known: ((path: string, blob: string) => Buffer | undefined) | undefined,
  read: (wanted: TreeBlob[]) => Promise<(TreeBlob & { bytes?: Buffer })[]>,
): Promise<RepositorySource> {
  if (entries.length > MAX_FILES) throw new Error(`revision ${origin.replace(/^git:/, '')} holds more than ${MAX_FILES} configuration files; refusing`);
  const files: SourceFile[] = [];
  const missing: TreeBlob[] = [];
  const tooBig = (path: string, size: number): SourceFile => ({ path, problem: { ruleId: 'file-unreadable', message: `file is ${size} bytes, over the ${maxFileBytes}-byte limit for one file; split it` } });
  for (const e of entries) {
    if (e.mode === '120000') files.push({ path: e.path, problem: { ruleId: 'file-unreadable', message: 'symbolic links are not allowed in the configuration repository' } });
    else if (e.size > maxFileBytes) files.push(tooBig(e.path, e.size));
    else {
      const bytes = known?.(e.path, e.sha);
      if (bytes) files.push({ path: e.path, blob: e.sha, bytes });
      else missing.push(e);
    }
  }
  for (const e of await read(missing)) files.push(e.bytes ? { path: e.path, blob: e.sha, bytes: e.bytes } : tooBig(e.path, e.size));
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { origin, files };
}

/**
 * Reads revisions through a long-lived object reader (no process per revision) by walking their trees.
 * A subtree whose id did not change since the previous read is not read again: a one-file commit costs
 * the few trees on the path to that file and its one blob.
 */
export class GitRepositoryReader {
  /** Where a tree sits + its id → the configuration blobs below it, for the trees of the previous read. */
  private trees = new Map<string, TreeBlob[]>();

  constructor(private readonly objects: GitObjectReader) {}

  async read(commit: string, subdir = '', maxFileBytes = MAX_FILE_BYTES, known?: (path: string, blob: string) => Buffer | undefined): Promise<RepositorySource> {
    const c = await this.objects.read(`${commit}^{commit}`);
    if (!c) throw new Error(`revision ${commit} is not a commit in ${this.objects.gitDir}`);
    const next = new Map<string, TreeBlob[]>();
    // Lists keep full paths, so an unchanged subtree's list is reused as it is (no copy per read).
    const below = async (dir: string, tree: string): Promise<TreeBlob[]> => {
      const key = `${dir}\0${tree}`;
      const hit = next.get(key) ?? this.trees.get(key);
      if (hit) return next.set(key, hit), hit;
      const entries = await this.objects.tree(tree);
      const parts = await Promise.all(
        entries.map(async (e): Promise<TreeBlob[]> => {
          const path = `${dir}/${e.name}`;
          if (e.mode === '40000') return below(path, e.oid);
          return e.mode === '160000' || !isConfigPath(path) ? [] : [{ mode: e.mode.padStart(6, '0'), sha: e.oid, size: -1, path }]; // 160000: a submodule, not a file
        }),
      );
      const out = parts.flat();
      next.set(key, out);
      return out;
    };
    let tree: string | undefined = parseCommit(c.bytes).tree;
    for (const segment of subdir.split('/').filter(Boolean)) tree = tree && (await this.objects.tree(tree)).find((e) => e.mode === '40000' && e.name === segment)?.oid;
    const entries: TreeBlob[] = [];
    if (tree) {
      for (const e of await this.objects.tree(tree)) {
        if (e.mode === '40000' && e.name === 'teams') entries.push(...(await below('teams', e.oid)));
        else if (e.mode !== '40000' && e.mode !== '160000' && isConfigPath(e.name)) entries.push({ mode: e.mode.padStart(6, '0'), sha: e.oid, size: -1, path: e.name });
      }
    }
    this.trees = next;
    return sourceOfEntries(`git:${commit}`, entries, maxFileBytes, known, (wanted) =>
      Promise.all(
        wanted.map(async (e) => {
          const info = await this.objects.info(e.sha);
          const size = info?.size ?? 0;
          if (size > maxFileBytes) return { ...e, size };
          const o = await this.objects.read(e.sha);
          if (!o) throw new Error(`git object ${e.sha} (${e.path}) is missing from ${this.objects.gitDir}`);
          return { ...e, size, bytes: o.bytes };
        }),
      ),
    );
  }
}

/** The contents of blobs by id, in order, with one `git cat-file --batch`. */
async function readBlobs(gitDir: string, shas: string[]): Promise<Buffer[]> {
  if (shas.length === 0) return [];
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', gitDir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`git cat-file failed: ${stderr.trim()}`));
      const all = Buffer.concat(chunks);
      const out: Buffer[] = [];
      let pos = 0;
      for (let i = 0; i < shas.length; i++) {
        const nl = all.indexOf(0x0a, pos);
        const header = all.subarray(pos, nl).toString();
        const size = Number(header.split(' ')[2]);
        out.push(all.subarray(nl + 1, nl + 1 + size));
        pos = nl + 1 + size + 1;
      }
      resolve(out);
    });
    child.stdin.end(shas.join('\n') + '\n');
  });
}
