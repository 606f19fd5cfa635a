// Follows one branch of the configuration repository: a bare clone in the state directory, fetched on
// demand (webhook, poll, POST /v1/sync). Reads commit metadata; the order of documents for the agents
// is the controller's generation (generation-clock.ts), not anything derived from git history.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

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
  private git!: SimpleGit;

  constructor(
    private readonly repo: string,
    readonly branch: string,
    stateDir: string,
  ) {
    this.gitDir = join(stateDir, 'repository.git');
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
    this.git = simpleGit(this.gitDir);
    await this.git.raw(['config', 'remote.origin.url', this.remote()]);
  }

  /** Fetches the branch; returns its head sha. */
  async fetch(): Promise<string> {
    await this.git.raw(['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${this.branch}:refs/heads/${this.branch}`]);
    return this.head();
  }

  async head(): Promise<string> {
    return (await this.git.raw(['rev-parse', '--verify', `refs/heads/${this.branch}^{commit}`])).trim();
  }

  async commit(sha: string): Promise<CommitInfo> {
    const out = await this.git.raw(['log', '-1', '--format=%H%x00%cI%x00%an%x00%s', sha]);
    const [full, committedAt, author, message] = out.trim().split('\0');
    return { sha: full, committedAt: new Date(committedAt).toISOString(), message: message ?? '', author: author ?? '' };
  }

  /** `sha`'s first-parent ancestors, newest first, excluding `sha` itself; at most `max`. */
  async ancestors(sha: string, max: number): Promise<string[]> {
    const out = await this.git.raw(['rev-list', '--first-parent', `--max-count=${max + 1}`, sha]);
    return out.split('\n').map((l) => l.trim()).filter(Boolean).slice(1);
  }

  /** True when `ancestor` is `sha` or one of its ancestors (false too when either is unknown here). */
  async isAncestor(ancestor: string, sha: string): Promise<boolean> {
    // Not through simple-git: it resolves on exit status 1 when git prints nothing, which is how
    // --is-ancestor says "no".
    return new Promise((resolve) => execFile('git', ['--git-dir', this.gitDir, 'merge-base', '--is-ancestor', ancestor, sha], (err) => resolve(!err)));
  }

  /** True when `path` exists in the tree of `sha`. */
  async exists(sha: string, path: string): Promise<boolean> {
    try {
      await this.git.raw(['cat-file', '-e', `${sha}:${path}`]);
      return true;
    } catch {
      return false;
    }
  }
}
