// Follows one branch of the configuration repository: a bare clone in the state directory, fetched on
// demand (webhook, poll, POST /v1/sync). Reads commit metadata; the order of documents for the agents
// is the controller's generation (generation-clock.ts), not anything derived from git history.
// After the clone, a sync spawns one process (`git fetch`); everything else is read through the
// long-lived `git cat-file` processes of GitObjectReader, because each spawned command cost 3–10 ms
// (more under load), and simple-git added 50 ms to commands that print nothing.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { GitObjectReader, parseCommit, type ParsedCommit } from '../core/repository/git-object-reader.ts';
import { GitRepositoryReader } from '../core/repository/repository-source.ts';

const execFileAsync = promisify(execFile);
const FULL_SHA = /^[0-9a-f]{40}$/;
/** Commits `isAncestor` walks through the object reader before asking `git merge-base` instead. */
const ANCESTRY_WALK_LIMIT = 500;
/** `git maintenance run --auto` (what a fetch runs by default) runs after every this many fetches, off the latency path. */
const MAINTENANCE_EVERY = 25;

export interface CommitInfo {
  sha: string;
  /** Committer date, ISO 8601. */
  committedAt: string;
  /** Subject line. */
  message: string;
  author: string;
}

export class GitFollower {
  readonly gitDir: string;
  readonly objects: GitObjectReader;
  /** Reads a revision's configuration files, reusing the trees that did not change since the last read. */
  readonly repository: GitRepositoryReader;
  private fetches = 0;
  private maintenance: Promise<unknown> | null = null;

  constructor(
    private readonly repo: string,
    readonly branch: string,
    stateDir: string,
  ) {
    this.gitDir = join(stateDir, 'repository.git');
    this.objects = new GitObjectReader(this.gitDir);
    this.repository = new GitRepositoryReader(this.objects);
  }

  private run(args: string[]): Promise<{ stdout: string }> {
    return execFileAsync('git', ['--git-dir', this.gitDir, ...args], { maxBuffer: 64 * 1024 * 1024 });
  }

  /** The remote as git should see it: local paths made absolute so the clone works from any cwd. */
  private remote(): string {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(this.repo) || /^[^/]+@[^:]+:/.test(this.repo)) return this.repo;
    return isAbsolute(this.repo) ? this.repo : resolve(this.repo);
  }

  /** Clones (bare, single branch) on first use; reuses the clone after a restart. */
  async open(): Promise<void> {
    if (!existsSync(join(this.gitDir, 'HEAD'))) {
      mkdirSync(this.gitDir, { recursive: true });
      await simpleGit().clone(this.remote(), this.gitDir, ['--bare', '--single-branch', '--branch', this.branch]);
    }
    await this.run(['config', 'remote.origin.url', this.remote()]);
  }

  /** Fetches the branch; returns its head sha. */
  async fetch(): Promise<string> {
    await this.maintenance; // never two git writers at once
    // No automatic maintenance inside the fetch (one more process on the latency path): it runs below,
    // after the sync that needed this fetch has been served. Config, not flags: older git ignores it.
    await this.run(['-c', 'maintenance.auto=false', '-c', 'gc.auto=0', 'fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${this.branch}:refs/heads/${this.branch}`]);
    if (++this.fetches % MAINTENANCE_EVERY === 0) setImmediate(() => this.runMaintenance());
    return this.head();
  }

  private runMaintenance(): void {
    this.maintenance ??= this.run(['maintenance', 'run', '--auto', '--quiet'])
      .catch(() => this.run(['gc', '--auto', '--quiet'])) // git before 2.29 has no `maintenance`
      .catch(() => undefined) // a failed gc only leaves loose objects; the next one retries
      .finally(() => (this.maintenance = null));
  }

  async head(): Promise<string> {
    const ref = `refs/heads/${this.branch}`;
    const info = await this.objects.info(`${ref}^{commit}`);
    if (!info) throw new Error(`${ref} does not name a commit in ${this.gitDir}`);
    return info.oid;
  }

  private async parsed(sha: string): Promise<ParsedCommit | null> {
    const o = await this.objects.read(`${sha}^{commit}`);
    return o ? parseCommit(o.bytes) : null;
  }

  async commit(sha: string): Promise<CommitInfo> {
    const o = await this.objects.read(`${sha}^{commit}`);
    if (!o) throw new Error(`unknown commit ${sha}`);
    const c = parseCommit(o.bytes);
    if (c.encoding && !/^utf-?8$/i.test(c.encoding)) {
      // A message in another encoding: let git re-encode it, as it does for `git log`.
      const { stdout } = await this.run(['log', '-1', '--format=%H%x00%cI%x00%an%x00%s', o.oid]);
      const [full, committedAt, author, message] = stdout.trim().split('\0');
      return { sha: full, committedAt: new Date(committedAt).toISOString(), message: message ?? '', author: author ?? '' };
    }
    return { sha: o.oid, committedAt: c.committedAt, message: c.subject, author: c.author };
  }

  /** `sha`'s first-parent ancestors, newest first, excluding `sha` itself; at most `max`. */
  async ancestors(sha: string, max: number): Promise<string[]> {
    const out: string[] = [];
    let c = await this.parsed(sha);
    while (c && c.parents.length > 0 && out.length < max) {
      out.push(c.parents[0]);
      c = await this.parsed(c.parents[0]);
    }
    return out;
  }

  /** True when `ancestor` is `sha` or one of its ancestors (false too when either is unknown here). */
  async isAncestor(ancestor: string, sha: string): Promise<boolean> {
    const commitId = async (name: string) => (FULL_SHA.test(name) && (await this.objects.info(name))?.type === 'commit' ? name : (await this.objects.info(`${name}^{commit}`))?.oid);
    const [target, start] = await Promise.all([commitId(ancestor), commitId(sha)]);
    if (!target || !start) return false;
    // The usual question is "is the last good revision a few commits below the new head?": walking
    // parents through the reader answers it without a process; a long or far walk asks git.
    const seen = new Set<string>([start]);
    const queue = [start];
    while (queue.length > 0 && seen.size <= ANCESTRY_WALK_LIMIT) {
      const oid = queue.shift()!;
      if (oid === target) return true;
      for (const p of (await this.parsed(oid))?.parents ?? []) {
        if (!seen.has(p)) seen.add(p), queue.push(p);
      }
    }
    if (queue.length === 0) return false;
    // Exit status 1 is how --is-ancestor says "no".
    return new Promise((resolve) => execFile('git', ['--git-dir', this.gitDir, 'merge-base', '--is-ancestor', target, start], (err) => resolve(!err)));
  }

  /** True when `path` exists in the tree of `sha`. */
  async exists(sha: string, path: string): Promise<boolean> {
    return (await this.objects.info(`${sha}:${path}`)) !== null;
  }

  /** Stops the object reader's processes (they restart on the next read). */
  close(): void {
    this.objects.close();
  }
}
