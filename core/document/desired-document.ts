// The desired document: everything one shard should run, content-addressed. The controller produces
// it, the agent verifies and applies it, and both compare `hash` to know whether anything changed.
import { createHash } from 'node:crypto';
import type { CardinalityThresholds } from '../../schemas/model.ts';

export const DOCUMENT_API_VERSION = 'promshard.io/v1';

export interface DocumentFile {
  /** Relative to the agent's config directory, forward slashes, never absolute, never `..`. */
  path: string;
  content: string;
  /** Hex sha256 of `content` as UTF-8. */
  sha256: string;
}

export interface JobOwner {
  team: string;
  /** Team file relative to the repository root. */
  file: string;
  line: number;
  cardinality: Required<CardinalityThresholds>;
}

export interface DesiredDocument {
  apiVersion: typeof DOCUMENT_API_VERSION;
  shard: string;
  /** Git commit the document was rendered from. */
  revision: string;
  /**
   * Orders documents. The controller assigns it when it adopts a revision; it only ever increases and
   * does not depend on the shape of git history, so a force-pushed revert gets a higher one than the
   * commits it removed. Agents refuse a lower generation, and a different document at the same one.
   */
  generation: number;
  /**
   * Kubernetes mode only: the term of the leader that pushed it (grows with every new Lease holder; see
   * central-controller/kubernetes/leader-election.ts). Agents refuse a term lower than the highest they
   * have seen, so a deposed leader changes nothing. Absent outside Kubernetes (read as 0).
   */
  term?: number;
  /** Commit time, ISO 8601. */
  committedAt: string;
  files: DocumentFile[];
  /** sha256 over the files only (see `hashFiles`): same hash means same Prometheus configuration. */
  hash: string;
  /** Job name → owning team and file, used to attribute cardinality flags. */
  owners: Record<string, JobOwner>;
  /**
   * Set when the shard is split: `shard` above is then the split's name (`<shard>.s<index>`), and this
   * says which functional shard and split it is. Absent for an unsplit shard.
   */
  split?: DocumentSplit;
}

export interface DocumentSplit {
  shard: string;
  index: number;
  count: number;
  by: string;
}

/** The main Prometheus configuration file inside every document. */
export const MAIN_CONFIG_FILE = 'prometheus.yml';

export function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** Hash of a set of files, independent of their order: sha256 of `<sha256>  <path>\n` lines sorted by path. */
export function hashFiles(files: readonly { path: string; sha256: string }[]): string {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return sha256Hex(lines);
}

export function buildDesiredDocument(input: {
  shard: string;
  revision: string;
  generation: number;
  committedAt: string;
  files: { path: string; content: string }[];
  owners?: Record<string, JobOwner>;
}): DesiredDocument {
  const files = input.files
    .map((f) => ({ path: f.path, content: f.content, sha256: sha256Hex(f.content) }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  return {
    apiVersion: DOCUMENT_API_VERSION,
    shard: input.shard,
    revision: input.revision,
    generation: input.generation,
    committedAt: input.committedAt,
    files,
    hash: hashFiles(files),
    owners: input.owners ?? {},
  };
}
