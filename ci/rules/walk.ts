// Defensive traversal of untrusted parsed YAML, shared by the rules: each helper skips values of the
// wrong type (the schema rule reports those), so a rule never crashes on a malformed file.
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import type { ParsedFile, ParsedRepository } from '../../core/compiler/rule.ts';

export type RecordLike = Record<string, unknown>;

export function isRecord(v: unknown): v is RecordLike {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export interface JobVisit {
  file: ParsedFile;
  job: RecordLike;
  /** Path of the job inside its file: ['jobs', i]. */
  path: PathSegment[];
  /** The file's `shard:` value when it is a string. */
  shard: string | undefined;
}

export function forEachJob(repo: ParsedRepository, fn: (visit: JobVisit) => void): void {
  for (const file of repo.teamFiles) {
    if (!isRecord(file.data) || !Array.isArray(file.data.jobs)) continue;
    const shard = asString(file.data.shard);
    file.data.jobs.forEach((job, i) => {
      if (isRecord(job)) fn({ file, job, path: ['jobs', i], shard });
    });
  }
}

export type ShardEntry = { shard: RecordLike; path: PathSegment[] };

// Computed once per shards.yaml parse: rules call shardsByName/shardSetting per job, and a 5,000-file
// repository must not rebuild the map 50,000 times.
const shardsCache = new WeakMap<object, Map<string, ShardEntry>>();

/** Shard entries of shards.yaml by name (first occurrence wins), with their path. Cached per parse: do not mutate. */
export function shardsByName(repo: ParsedRepository): Map<string, ShardEntry> {
  const file = repo.shardsFile;
  const cached = file ? shardsCache.get(file) : undefined;
  if (cached) return cached;
  const out = new Map<string, ShardEntry>();
  const data = file?.data;
  if (isRecord(data) && Array.isArray(data.shards)) {
    data.shards.forEach((s, i) => {
      if (isRecord(s) && typeof s.name === 'string' && !out.has(s.name)) out.set(s.name, { shard: s, path: ['shards', i] });
    });
  }
  if (file) shardsCache.set(file, out);
  return out;
}

export function shardDefaults(repo: ParsedRepository): RecordLike {
  const data = repo.shardsFile?.data;
  return isRecord(data) && isRecord(data.defaults) ? data.defaults : {};
}

/** A setting of a shard, falling back to shards.yaml defaults. */
export function shardSetting(repo: ParsedRepository, shardName: string | undefined, key: string): unknown {
  const own = shardName ? shardsByName(repo).get(shardName)?.shard[key] : undefined;
  return own !== undefined ? own : shardDefaults(repo)[key];
}

export interface RemoteWriteVisit {
  entry: RecordLike;
  /** Path of the entry inside shards.yaml: ['remote_write', i] or ['shards', s, 'remote_write', i]. */
  path: PathSegment[];
  /** The shard whose own list holds it; undefined for the fleet-level list. */
  shard?: string;
}

/** Every remote_write entry of shards.yaml (`data` untrusted), fleet-level first, then each shard's own. */
export function forEachRemoteWrite(data: unknown, fn: (v: RemoteWriteVisit) => void): void {
  if (!isRecord(data)) return;
  const visitList = (list: unknown, path: PathSegment[], shard?: string) => {
    if (!Array.isArray(list)) return;
    list.forEach((entry, i) => {
      if (isRecord(entry)) fn({ entry, path: [...path, i], shard });
    });
  };
  visitList(data.remote_write, ['remote_write']);
  if (Array.isArray(data.shards)) {
    data.shards.forEach((s, i) => {
      if (isRecord(s)) visitList(s.remote_write, ['shards', i, 'remote_write'], typeof s.name === 'string' ? s.name : undefined);
    });
  }
}
