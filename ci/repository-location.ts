// Where the configuration repository is, and how to show its paths to the user.
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { UsageError } from '../cli/args.ts';

/** `--repo` if given; else the current directory if it holds shards.yaml; else ./scrape-configs. */
export function resolveRepositoryDir(repoFlag: string | undefined): string {
  if (repoFlag) {
    const dir = resolve(repoFlag);
    if (!existsSync(dir)) throw new UsageError(`--repo ${repoFlag}: no such directory`);
    return dir;
  }
  if (existsSync('shards.yaml') || existsSync('shards.yml')) return process.cwd();
  if (existsSync(join('scrape-configs', 'shards.yaml'))) return resolve('scrape-configs');
  throw new UsageError('no repository found: run inside a directory holding shards.yaml, or pass --repo DIR');
}

export function displayPathFor(repoDir: string): (file: string) => string {
  const rel = relative(process.cwd(), repoDir);
  return (file) => (rel ? `${rel}/${file}` : file).split('\\').join('/');
}

/** The git work tree holding `dir`, and `dir`'s path inside it. */
export function gitLocation(dir: string): { gitDir: string; subdir: string } {
  let top: string;
  try {
    top = execFileSync('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    throw new UsageError(`${dir} is not inside a git repository (needed for --base/--head)`);
  }
  return { gitDir: top, subdir: relative(top, dir).split('\\').join('/') };
}

export function gitRefExists(gitDir: string, ref: string): boolean {
  try {
    execFileSync('git', ['-C', gitDir, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
