// Compiles one revision with the shared compiler (the same code CI runs) and renders one desired
// document per shard. Nothing here knows about rollouts.
import { compileRepository } from '../core/compiler/compile-repository.ts';
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { Finding } from '../core/findings/finding.ts';
import { readRepositoryFromGit } from '../core/repository/repository-source.ts';
import { buildShardDocuments } from '../core/render/shard-documents.ts';
import type { CompiledRepository } from '../schemas/model.ts';
import type { CommitInfo, GitFollower } from './git-follower.ts';

export interface CompiledRevision {
  commit: CommitInfo;
  /** Directory inside the repository holding shards.yaml ('' = root). */
  subdir: string;
  valid: boolean;
  findings: Finding[];
  model: CompiledRepository | null;
  /** Only when valid. */
  documents: Map<string, DesiredDocument> | null;
}

/** `--repo-subdir` when given; otherwise the root, or `scrape-configs` when the root has no shards.yaml. */
export async function resolveSubdir(git: GitFollower, sha: string, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured.replace(/^\/+|\/+$/g, '');
  if ((await git.exists(sha, 'shards.yaml')) || (await git.exists(sha, 'shards.yml'))) return '';
  if (await git.exists(sha, 'scrape-configs/shards.yaml')) return 'scrape-configs';
  return '';
}

export async function compileRevision(git: GitFollower, commit: CommitInfo, configuredSubdir: string | undefined): Promise<CompiledRevision> {
  const subdir = await resolveSubdir(git, commit.sha, configuredSubdir);
  const source = await readRepositoryFromGit(git.gitDir, commit.sha, subdir);
  const compilation = compileRepository(source);
  const findings = subdir ? compilation.findings.map((f) => ({ ...f, file: `${subdir}/${f.file}` })) : compilation.findings;
  const documents =
    compilation.valid && compilation.model
      ? buildShardDocuments(compilation.model, { revision: commit.sha, generation: 0, committedAt: commit.committedAt }) // the generation is issued when the revision is adopted
      : null;
  return { commit, subdir, valid: compilation.valid && documents !== null, findings, model: compilation.model, documents };
}
