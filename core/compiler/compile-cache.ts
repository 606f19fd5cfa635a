// What the compiler may reuse between two compilations of nearly the same repository: the load and
// parse of each file, the findings of rules whose findings depend on few files, each file's compiled
// jobs, and each shard's rendering. Everything is keyed by path and git blob id (the content), and
// everything derived from shards.yaml is keyed by shards.yaml's blob too, so a hit is always what a
// full compilation would compute. The controller passes one cache to every compilation; CI compiles
// once and needs none. The test in test/compiler/incremental-compile.test.ts checks that a cached
// compilation equals a full one (model, findings, rendered bytes) over random edits.
import { createRequire } from 'node:module';
import type { Finding } from '../findings/finding.ts';
import type { ParsedFile } from './rule.ts';
import type { CompiledJob } from '../../schemas/model.ts';

/** What loading one file gave: the parsed file, or the findings that kept it out. */
export interface LoadedFile {
  file?: ParsedFile;
  /** The file's bytes, so a reader can skip fetching a blob it already has (see `bytesOf`). */
  bytes?: Buffer;
  isShards: boolean;
  findings: Finding[];
}

// Only the controller's incremental compile hashes blobs; a one-shot `validate` never loads node:crypto.
let cryptoModule: typeof import('node:crypto') | undefined;
function crypto(): typeof import('node:crypto') {
  return (cryptoModule ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));
}

/** Git's blob id of some bytes (`git hash-object`), for sources read from a directory. */
export function gitBlobId(bytes: Buffer): string {
  return crypto().createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

export interface CacheStats {
  loaded: number;
  fileFindings: number;
  shardGroups: number;
  jobs: number;
  renders: number;
}

export class CompileCache {
  /** Path → blob → loaded form. Nested rather than keyed by `key()`: the controller looks up every
   * file of the repository on every commit, and building 5,000 key strings cost more than the lookups. */
  private loaded = new Map<string, Map<string, LoadedFile>>();
  private loadedCount = 0;
  /** ParsedFile → its `path\0blob` key (ParsedFile objects are reused from `loaded`). */
  private keys = new WeakMap<ParsedFile, string>();
  /** Key of the shards.yaml the entries below were computed against. */
  private shardsKey: string | undefined;
  /** Findings of file-scoped rules on one team file. */
  private fileFindings = new Map<string, Finding[]>();
  /** Findings of file-scoped rules on shards.yaml itself (null: not computed yet). */
  private shardsFindings: Finding[] | null = null;
  /** Findings of shard-scoped rules per shard group, valid while the group's files are the same. */
  private shardGroups = new Map<string, { signature: string; findings: Finding[] }>();
  private jobs = new Map<string, CompiledJob[]>();
  private jobKeys = new WeakMap<CompiledJob, string>();
  private renders = new Map<string, { jobs: readonly CompiledJob[]; value: unknown }>();

  static key(path: string, blob: string): string {
    return `${path}\0${blob}`;
  }

  /** The loaded form of one file, computed once per path and content. */
  load(path: string, blob: string, compute: () => LoadedFile): LoadedFile {
    let versions = this.loaded.get(path);
    let entry = versions?.get(blob);
    if (!entry) {
      entry = compute();
      if (!versions) this.loaded.set(path, (versions = new Map()));
      versions.set(blob, entry);
      this.loadedCount++;
      if (entry.file) this.keys.set(entry.file, CompileCache.key(path, blob));
    }
    return entry;
  }

  /** The loaded form of one file if already computed (no closure to allocate per file and compilation). */
  peek(path: string, blob: string): LoadedFile | undefined {
    return this.loaded.get(path)?.get(blob);
  }

  /** The bytes of a file already loaded, by path and blob id. */
  bytesOf(path: string, blob: string): Buffer | undefined {
    return this.loaded.get(path)?.get(blob)?.bytes;
  }

  keyOf(file: ParsedFile): string | undefined {
    return this.keys.get(file);
  }

  /** Forgets everything computed against another shards.yaml. */
  useShardsFile(key: string): void {
    if (key === this.shardsKey) return;
    this.shardsKey = key;
    this.fileFindings.clear();
    this.shardsFindings = null;
    this.shardGroups.clear();
    this.jobs.clear();
    this.renders.clear();
  }

  fileFindingsOf(key: string): Finding[] | undefined {
    return this.fileFindings.get(key);
  }
  setFileFindings(key: string, findings: Finding[]): void {
    this.fileFindings.set(key, findings);
  }
  get shardsFileFindings(): Finding[] | null {
    return this.shardsFindings;
  }
  set shardsFileFindings(f: Finding[] | null) {
    this.shardsFindings = f;
  }

  shardGroup(group: string): { signature: string; findings: Finding[] } | undefined {
    return this.shardGroups.get(group);
  }
  setShardGroup(group: string, signature: string, findings: Finding[]): void {
    this.shardGroups.set(group, { signature, findings });
  }
  /** Drops groups that no longer exist (a shard nobody declares any more). */
  retainShardGroups(groups: Set<string>): void {
    for (const g of this.shardGroups.keys()) if (!groups.has(g)) this.shardGroups.delete(g);
  }

  /** The compiled jobs of one team file if already computed. */
  knownJobsOf(file: ParsedFile): CompiledJob[] | undefined {
    const key = this.keys.get(file);
    return key === undefined ? undefined : this.jobs.get(key);
  }

  /** The compiled jobs of one team file (against the current shards.yaml). */
  jobsOf(file: ParsedFile, compute: () => CompiledJob[]): CompiledJob[] {
    const key = this.keys.get(file);
    if (!key) return compute();
    let jobs = this.jobs.get(key);
    if (!jobs) {
      jobs = compute();
      this.jobs.set(key, jobs);
      for (const j of jobs) this.jobKeys.set(j, key);
    }
    return jobs;
  }

  /**
   * A shard's rendering, reused while the shard is made of the same cached jobs. Jobs that did not
   * come from this cache make the shard uncacheable (rendered every time).
   */
  render<T>(shard: string, jobs: readonly CompiledJob[], compute: () => T): T {
    // Cached jobs are never changed and are dropped with their shards.yaml (useShardsFile), so the
    // same job objects in the same order are the same rendering: compared by identity, no key built.
    const hit = this.renders.get(shard);
    if (hit && hit.jobs.length === jobs.length && hit.jobs.every((j, i) => j === jobs[i])) return hit.value as T;
    for (const j of jobs) if (!this.jobKeys.has(j)) return compute();
    const value = compute();
    this.renders.set(shard, { jobs: [...jobs], value });
    return value;
  }

  /**
   * Bounds the cache: keeps only the files given (the head's, and any older versions still served),
   * and what was derived from them.
   */
  prune(keep: Iterable<{ path: string; blob: string }>): void {
    const live = new Set<string>();
    for (const k of keep) live.add(CompileCache.key(k.path, k.blob));
    for (const [path, versions] of this.loaded) {
      for (const blob of versions.keys()) {
        if (!live.has(CompileCache.key(path, blob))) versions.delete(blob), this.loadedCount--;
      }
      if (versions.size === 0) this.loaded.delete(path);
    }
    for (const map of [this.fileFindings, this.jobs] as Map<string, unknown>[]) {
      for (const k of map.keys()) if (!live.has(k)) map.delete(k);
    }
  }

  stats(): CacheStats {
    return { loaded: this.loadedCount, fileFindings: this.fileFindings.size, shardGroups: this.shardGroups.size, jobs: this.jobs.size, renders: this.renders.size };
  }
}
