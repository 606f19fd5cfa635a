// The git side of a fix: a throw-away clone of the configuration repository's remote at the base
// branch, the fix committed there on its own branch, and a plain (never forced) push of that branch.
// The user's own checkout is never touched. Pushing uses whatever git credentials the user or the CI
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

/**
 * The remote to clone from and push to, given `--repo`: a URL or a bare repository as is; a work
 * tree's `origin` when it has one, else the work tree itself (a new branch can be pushed to it).
 */
export function resolveRemote(repo: string): string {
  if (looksLikeUrl(repo)) return repo;
  const abs = resolve(repo);
  if (!existsSync(abs)) throw new UsageError(`--repo ${repo}: no such directory`);
  let bare: string;
  try {
    bare = git(abs, ['rev-parse', '--is-bare-repository']);
  } catch {
    throw new UsageError(`--repo ${repo}: not a git repository (give the configuration repository's work tree, a bare repository or a URL)`);
  }
  if (bare === 'true') return abs;
  const top = git(abs, ['rev-parse', '--show-toplevel']);
  try {
    const origin = git(top, ['remote', 'get-url', 'origin']);
    if (origin) return looksLikeUrl(origin) ? origin : resolve(top, origin);
  } catch {
    /* no origin: push to the work tree itself */
  }
  return top;
}

/** The commit `branch` points at on the remote, or undefined when there is no such branch. */
export function remoteBranchHead(remote: string, branch: string): string | undefined {
  const out = git(undefined, ['ls-remote', '--heads', remote, `refs/heads/${branch}`]);
  const line = out.split('\n').find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line?.split('\t')[0];
}

export interface FixClone {
  dir: string;
  /** The base branch's commit that was cloned (the fix's parent). */
  baseSha: string;
  remove(): void;
}

export function cloneBase(remote: string, base: string): FixClone {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-fix-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    git(undefined, ['clone', '-q', '--no-tags', '--single-branch', '--branch', base, '--', remote, dir]);
    return { dir, baseSha: git(dir, ['rev-parse', 'HEAD']), remove };
  } catch (err) {
    remove();
    throw new Error(`cannot clone branch ${base} of the configuration repository: ${(err as Error).message}`);
  }
}

/** Whether the remote branch `branch` holds exactly `content` at `path` (so an earlier run's push can be reused). */
export function remoteBranchHas(clone: FixClone, branch: string, path: string, content: string): boolean {
  git(clone.dir, ['fetch', '-q', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
  try {
    return execFileSync('git', ['-C', clone.dir, 'show', `refs/remotes/origin/${branch}:${path}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: GIT_ENV }) === content;
  } catch {
    return false;
  }
}

/** `git diff` of the clone's uncommitted change (the fix), paths from the repository root. */
export function diffOf(clone: FixClone, path: string): string {
  return execFileSync('git', ['-C', clone.dir, 'diff', '--no-color', '--', path], { encoding: 'utf8', env: GIT_ENV });
}

/** Commits the change to `path` on a new branch `branch` and pushes it (not forced); returns the commit. */
export function commitAndPush(clone: FixClone, branch: string, path: string, message: string): string {
  git(clone.dir, ['checkout', '-q', '-b', branch]);
  git(clone.dir, ['add', '--', path]);
  // An identity only when the user has none: a CI runner often has no user.email.
  const identity = (() => {
    try {
      git(clone.dir, ['config', 'user.email']);
      return [];
    } catch {
      return ['-c', 'user.name=promshard', '-c', 'user.email=promshard@localhost'];
    }
  })();
  git(clone.dir, [...identity, '-c', 'commit.gpgsign=false', 'commit', '-q', '-m', message]);
  git(clone.dir, ['push', '-q', 'origin', `refs/heads/${branch}:refs/heads/${branch}`]);
  return git(clone.dir, ['rev-parse', 'HEAD']);
}
