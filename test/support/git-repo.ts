// Real git repositories in temp dirs for tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TestGitRepo {
  dir: string;
  git(...args: string[]): string;
  write(path: string, content: string): void;
  remove(path: string): void;
  /** Stages everything and commits; returns the new commit sha. */
  commit(message: string): string;
  destroy(): void;
}

export function createGitRepo(files: Record<string, string> = {}, opts: { bare?: boolean } = {}): TestGitRepo {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-git-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=promshard-test', '-c', 'user.email=test@promshard.invalid', '-c', 'commit.gpgsign=false', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main', ...(opts.bare ? ['--bare'] : []));
  const repo: TestGitRepo = {
    dir,
    git,
    write(path, content) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    },
    remove(path) {
      rmSync(join(dir, path), { force: true });
    },
    commit(message) {
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    destroy() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const [p, c] of Object.entries(files)) repo.write(p, c);
  if (Object.keys(files).length) repo.commit('initial');
  return repo;
}
