// The git side of a fix: a throw-away checkout of the configuration repository's base branch, the fix
// committed there, and a plain (never forced) push of it as its own branch. The user's own checkout
// (work tree, index, branches) is never touched. Pushing uses whatever git credentials the user or the CI
// job already has for the remote (SSH key, credential helper, token in the URL); the git host's API is
// used only to open the pull/merge request.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../cli/args.ts';

const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };

function git(cwd: string | undefined, args: string[]): string {
  try {
    return execFileSync('git', cwd ? ['-C', cwd, ...args] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: GIT_ENV }).trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args[0]}: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' / ')}`);
  }
}

const looksLikeUrl = (s: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^[^/\s:]+@[^/\s:]+:/.test(s);

export interface FixCheckout {
  /** A checkout of the base branch, where the fix is made; its remote `origin` is the one pushed to. */
  dir: string;
  /** The base branch's commit that was checked out (the fix's parent). */
  baseSha: string;
  /** The remote, for messages. */
  remote: string;
  remove(): void;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'promshard-fix-'));
}

function cloneOf(remote: string, base: string): FixCheckout {
  const dir = tempDir();
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    git(undefined, ['clone', '-q', '--no-tags', '--single-branch', '--branch', base, '--', remote, dir]);
    return { dir, baseSha: git(dir, ['rev-parse', 'HEAD']), remote, remove };
  } catch (err) {
    remove();
    throw new Error(`cannot clone branch ${base} of ${remote}: ${(err as Error).message}`);
  }
}

/**
 * A linked worktree of the user's repository, detached at origin's base branch. Unlike a fresh clone it
 * shares the repository's configuration, so the credentials a CI checkout keeps there (actions/checkout
 * stores its token as a local http.extraheader) also fetch and push. No branch is created locally, the
 * user's own work tree and index are untouched, and the worktree is removed afterwards.
 */
function worktreeOf(top: string, origin: string, base: string): FixCheckout {
  try {
    git(top, ['fetch', '-q', '--no-tags', 'origin', `refs/heads/${base}`]);
  } catch (err) {
    throw new Error(`cannot fetch branch ${base} from origin (${origin}): ${(err as Error).message}`);
  }
  const sha = git(top, ['rev-parse', 'FETCH_HEAD']);
  const dir = tempDir();
  rmSync(dir, { recursive: true, force: true });
  git(top, ['worktree', 'add', '-q', '--detach', dir, sha]);
  const remove = () => {
    try {
      git(top, ['worktree', 'remove', '--force', dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      try {
        git(top, ['worktree', 'prune']);
      } catch {
        /* nothing more to clean */
      }
    }
  };
  return { dir, baseSha: sha, remote: origin, remove };
}

/**
 * A checkout of `base` to make the fix in, given `--repo`: a URL or a bare repository is cloned; a work
 * tree with an `origin` gets a temporary linked worktree (its credentials apply); a work tree without
 * one is cloned, and the fix is pushed to it (a new branch can be pushed to a non-bare repository).
 */
export function checkoutBase(repo: string, base: string): FixCheckout {
  if (looksLikeUrl(repo)) return cloneOf(repo, base);
  const abs = resolve(repo);
  if (!existsSync(abs)) throw new UsageError(`--repo ${repo}: no such directory`);
  let bare: string;
  try {
    bare = git(abs, ['rev-parse', '--is-bare-repository']);
  } catch {
    throw new UsageError(`--repo ${repo}: not a git repository (give the configuration repository's work tree, a bare repository or a URL)`);
  }
  if (bare === 'true') return cloneOf(abs, base);
  const top = git(abs, ['rev-parse', '--show-toplevel']);
  let origin = '';
  try {
    origin = git(top, ['remote', 'get-url', 'origin']);
  } catch {
    /* no origin */
  }
  return origin ? worktreeOf(top, origin, base) : cloneOf(top, base);
}

/** The commit `branch` points at on the remote, or undefined when there is no such branch. */
export function remoteBranchHead(co: FixCheckout, branch: string): string | undefined {
  const out = git(co.dir, ['ls-remote', '--heads', 'origin', `refs/heads/${branch}`]);
  const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line?.split('\t')[0];
}

/** Whether the remote branch `branch` holds exactly `content` at `path` (so an earlier run's push can be reused). */
export function remoteBranchHas(co: FixCheckout, branch: string, path: string, content: string): boolean {
  // Into FETCH_HEAD (per worktree), so no ref of the user's repository changes.
  git(co.dir, ['fetch', '-q', '--no-tags', 'origin', `refs/heads/${branch}`]);
  try {
    return execFileSync('git', ['-C', co.dir, 'show', `FETCH_HEAD:${path}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: GIT_ENV }) === content;
  } catch {
    return false;
  }
}

/** `git diff` of the checkout's uncommitted change (the fix), paths from the repository root. */
export function diffOf(co: FixCheckout, path: string): string {
  return execFileSync('git', ['-C', co.dir, 'diff', '--no-color', '--', path], { encoding: 'utf8', env: GIT_ENV });
}

/** Commits the change to `path` (on a detached HEAD: no local branch) and pushes it as the new branch `branch`, never forced; returns the commit. */
export function commitAndPush(co: FixCheckout, branch: string, path: string, message: string): string {
  git(co.dir, ['add', '--', path]);
  // An identity only when the user has none: a CI runner often has no user.email.
  const identity = (() => {
    try {
      git(co.dir, ['config', 'user.email']);
      return [];
    } catch {
      return ['-c', 'user.name=promshard', '-c', 'user.email=promshard@localhost'];
    }
  })();
  git(co.dir, [...identity, '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', message]);
  git(co.dir, ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
  return git(co.dir, ['rev-parse', 'HEAD']);
}
