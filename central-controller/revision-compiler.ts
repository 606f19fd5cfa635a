// Compiles one revision with the shared compiler (the same code CI runs), quarantines broken team
// files (see quarantine.ts) and renders one desired document per shard. Nothing here knows about rollouts.
import { compileRepository } from '../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../ci/rules/index.ts';
import { CompileCache } from '../core/compiler/compile-cache.ts';
import { compileWithQuarantine, type LastGoodFile, type QuarantinedFile } from './quarantine.ts';
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { Finding } from '../core/findings/finding.ts';
import type { RepositorySource } from '../core/repository/repository-source.ts';
import { buildShardDocuments } from '../core/render/shard-documents.ts';
import type { CompiledRepository } from '../schemas/model.ts';
import type { CommitInfo, GitFollower } from './git-follower.ts';

export interface CompiledRevision {
  commit: CommitInfo;
  /** Directory inside the repository holding shards.yaml ('' = root). */
  subdir: string;
  /** Something can be served: the head, or the head with its broken files quarantined. */
  valid: boolean;
  /** The head itself has no error finding (what CI would say). */
  headValid: boolean;
  /** Findings of the head, paths from the repository root. */
  findings: Finding[];
  /** The model of what is served (when valid), else of the head. */
  model: CompiledRepository | null;
  /** Only when valid. */
  documents: Map<string, DesiredDocument> | null;
  /** Team files served at their last good version or left out; paths from the repository root. */
  quarantined: QuarantinedFile[];
  /** Why nothing of this revision is served (set when not valid). */
  stopReason: string | null;
  /** Files served, relative to `subdir` (what `adopted` remembers as last good). */
  served: { path: string; blob?: string }[] | null;
}

/** Old file versions the compile cache may hold beyond the head's files before it is pruned. */
const PRUNE_SLACK = 256;

/** How far back a quarantined file's last good version is looked for when the controller does not remember it. */
const MAX_LAST_GOOD_SEARCH = 100;

/** `--repo-subdir` when given; otherwise the root, or `scrape-configs` when the root has no shards.yaml. */
export async function resolveSubdir(git: GitFollower, sha: string, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured.replace(/^\/+|\/+$/g, '');
  if ((await git.exists(sha, 'shards.yaml')) || (await git.exists(sha, 'shards.yml'))) return '';
  if (await git.exists(sha, 'scrape-configs/shards.yaml')) return 'scrape-configs';
  return '';
}

/**
 * Compiles revisions with one compile cache (only changed blobs are parsed and checked again) and
 * remembers each served file's last good version, which a quarantined file falls back to. After a
 * restart nothing is remembered: a quarantined file's last good version is then found by walking
 * the branch's history (the newest earlier version that had no error finding in its commit).
 */
export class RevisionCompiler {
  readonly cache = new CompileCache();
  /** Last good version of every file served by the last adopted revision, by path (relative to the subdir). */
  private lastGood = new Map<string, { blob: string; revision: string }>();
  /** Files with an error finding, and every file's blob, per commit already compiled while searching history. */
  private history = new Map<string, { blobs: Map<string, string>; broken: Set<string> }>();
  private searched = new Map<string, LastGoodFile | null>();
  /** The commit of the last adopted revision: history below it is what `lastGood` already says. */
  private adoptedSha: string | null = null;

  constructor(
    private readonly git: GitFollower,
    private readonly configuredSubdir: string | undefined,
  ) {}

  private read(sha: string, subdir: string): Promise<RepositorySource> {
    return this.git.repository.read(sha, subdir, undefined, (path, blob) => this.cache.bytesOf(path, blob));
  }

  private async blob(path: string, blob: string): Promise<Buffer> {
    const bytes = this.cache.bytesOf(path, blob) ?? (await this.git.objects.read(blob))?.bytes;
    if (!bytes) throw new Error(`git object ${blob} (${path}) is missing from ${this.git.gitDir}`);
    return bytes;
  }

  async compile(commit: CommitInfo): Promise<CompiledRevision> {
    const subdir = await resolveSubdir(this.git, commit.sha, this.configuredSubdir);
    const source = await this.read(commit.sha, subdir);
    const compile = (src: RepositorySource) => compileRepository(src, { rules: ALL_RULES, cache: this.cache });
    const head = compile(source);
    const headBlobs = new Map(source.files.map((f) => [f.path, f.blob]));
    const outcome = head.valid
      ? { compilation: head, served: source.files, quarantined: [], stopReason: null }
      : await compileWithQuarantine(source, head, compile, (path) => this.lastGoodOf(path, commit.sha, subdir, headBlobs.get(path)));
    const prefix = (p: string) => (subdir ? `${subdir}/${p}` : p);
    const located = (fs: Finding[]) => (subdir ? fs.map((f) => ({ ...f, file: prefix(f.file), ...(f.related ? { related: f.related.map((r) => ({ ...r, file: prefix(r.file) })) } : {}) })) : fs);
    const served = outcome.served;
    const model = served ? outcome.compilation.model : head.model;
    const documents =
      served && model
        ? buildShardDocuments(model, { revision: commit.sha, generation: 0, committedAt: commit.committedAt }, { cache: this.cache }) // the generation is issued when the revision is adopted
        : null;
    // Pruning walks every entry: do it once old versions pile up, not on every commit.
    if (this.cache.stats().loaded > source.files.length + PRUNE_SLACK) {
      const keep = [...source.files, ...(served ?? [])].filter((f) => f.blob).map((f) => ({ path: f.path, blob: f.blob! }));
      for (const [path, g] of this.lastGood) keep.push({ path, blob: g.blob });
      this.cache.prune(keep);
    }
    return {
      commit,
      subdir,
      valid: documents !== null,
      headValid: head.valid,
      findings: located(head.findings),
      model,
      documents,
      quarantined: outcome.quarantined.map((q) => ({ ...q, file: prefix(q.file), findings: located(q.findings) })),
      stopReason: outcome.stopReason,
      served: served ? served.map((f) => ({ path: f.path, blob: f.blob })) : null,
    };
  }

  /** Remembers what an adopted revision serves: each file's version there is its last good one. */
  adopted(revision: CompiledRevision): void {
    if (!revision.served) return;
    const next = new Map<string, { blob: string; revision: string }>();
    for (const f of revision.served) {
      if (!f.blob) continue;
      const prior = this.lastGood.get(f.path);
      next.set(f.path, prior && prior.blob === f.blob ? prior : { blob: f.blob, revision: revision.commit.sha });
    }
    this.lastGood = next;
    this.adoptedSha = revision.commit.sha;
    this.searched.clear();
  }

  private async lastGoodOf(path: string, head: string, subdir: string, headBlob: string | undefined): Promise<LastGoodFile | undefined> {
    const memo = `${path}\0${headBlob ?? ''}`;
    if (this.searched.has(memo)) return this.searched.get(memo) ?? undefined;
    const remembered = this.lastGood.get(path);
    let found: LastGoodFile | null = null;
    // Commits between the head and the last adopted revision were never compiled when fetches
    // coalesced them; a newer good version of the file may lie there (the newest one wins).
    for (const sha of await this.git.ancestors(head, MAX_LAST_GOOD_SEARCH)) {
      if (sha === this.adoptedSha) break;
      const at = await this.judged(sha, subdir);
      const blob = at.blobs.get(path);
      if (!blob || at.broken.has(path)) continue;
      // The head's own version had no error in an earlier commit: it is the last good version, so
      // an error on it now comes from another file (a duplicate that file introduced), not from it.
      found = { blob, revision: sha, bytes: await this.blob(path, blob) };
      break;
    }
    if (!found && remembered) found = { ...remembered, bytes: await this.blob(path, remembered.blob) };
    this.searched.set(memo, found);
    return found ?? undefined;
  }

  /** Which files of an older commit had error findings there (bounded memo: restarts search a few commits). */
  private async judged(sha: string, subdir: string): Promise<{ blobs: Map<string, string>; broken: Set<string> }> {
    let at = this.history.get(sha);
    if (!at) {
      const source = await this.read(sha, subdir);
      const c = compileRepository(source, { rules: ALL_RULES, cache: this.cache, withModel: false });
      at = { blobs: new Map(source.files.filter((f) => f.blob).map((f) => [f.path, f.blob!])), broken: new Set(c.findings.filter((f) => f.severity === 'error').map((f) => f.file)) };
      if (this.history.size >= 2 * MAX_LAST_GOOD_SEARCH) this.history.delete(this.history.keys().next().value!);
      this.history.set(sha, at);
    }
    return at;
  }
}
