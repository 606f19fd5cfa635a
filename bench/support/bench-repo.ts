// The git repository a bench drives its controller from: created empty at `repoDir` (inside the
// bench's temp root, removed with it), with a fixed identity so commits need no global git config.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function benchRepo(repoDir: string): { git(...args: string[]): string; write(path: string, text: string): void } {
  mkdirSync(repoDir, { recursive: true });
  return {
    git: (...args) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repoDir, encoding: 'utf8' }),
    write: (path, text) => {
      mkdirSync(dirname(join(repoDir, path)), { recursive: true });
      writeFileSync(join(repoDir, path), text);
    },
  };
}
