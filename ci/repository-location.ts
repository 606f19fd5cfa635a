// Where the configuration repository is, and how to show its paths to the user.
import { existsSync, realpathSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { UsageError } from '../cli/args.ts';

/** The default configuration folder inside a git repository (this project's layout). */
export const DEFAULT_CONFIG_SUBDIR = 'scrape-configs';
const SHARDS_FILES = ['shards.yaml', 'shards.yml'];

/**
 * The folder that holds shards.yaml, given either that folder or a folder (typically the git root)
 * whose `scrape-configs/` holds it; null when neither does. Every command resolves `--repo` with this,
 * so `--repo .` and `--repo scrape-configs` mean the same thing everywhere.
 */
export function configFolderIn(dir: string): string | null {
  const abs = resolve(dir);
  if (SHARDS_FILES.some((f) => existsSync(join(abs, f)))) return abs;
  const sub = join(abs, DEFAULT_CONFIG_SUBDIR);
  if (SHARDS_FILES.some((f) => existsSync(join(sub, f)))) return sub;
  return null;
}

/**
 * `--repo` if given, else the current directory: in both cases the folder holding shards.yaml or a
 * folder whose scrape-configs/ holds it.
 */
export function resolveRepositoryDir(repoFlag: string | undefined): string {
  if (repoFlag) {
    const dir = resolve(repoFlag);
    if (!existsSync(dir)) throw new UsageError(`--repo ${repoFlag}: no such directory`);
    const found = configFolderIn(dir);
    if (!found) throw new UsageError(`--repo ${repoFlag}: no shards.yaml there nor in ${join(repoFlag, DEFAULT_CONFIG_SUBDIR)}/`);
    return found;
  }
  const found = configFolderIn(process.cwd());
  if (!found) throw new UsageError(`no repository found: run inside a directory holding shards.yaml (or whose ${DEFAULT_CONFIG_SUBDIR}/ does), or pass --repo DIR`);
  return found;
}

/**
 * The controller's `--repo`: a URL, or a local git repository given by its root or by the folder that
 * holds shards.yaml. A local folder inside a work tree is followed through the work tree's repository,
 * with the folder as the default `--repo-subdir` (an explicit `--repo-subdir` wins). Anything else
 * (URLs, bare repositories, roots) is passed on unchanged: the controller then finds shards.yaml at
 * the root or in scrape-configs/ of each commit.
 */
export function resolveControllerRepository(repo: string, repoSubdir: string | undefined): { repo: string; repoSubdir: string | undefined } {
  if (repoSubdir !== undefined || !existsSync(repo)) return { repo, repoSubdir };
  const folder = configFolderIn(repo);
  if (!folder) return { repo, repoSubdir };
  let top: string;
  try {
    top = execFileSync('git', ['-C', folder, 'rev-parse', '--show-toplevel'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return { repo, repoSubdir }; // not in a work tree (a bare repository, or no git): let the clone say so
  }
  const subdir = relative(realpathSync(top), realpathSync(folder)).split('\\').join('/');
  return { repo: top, repoSubdir: subdir || undefined };
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
