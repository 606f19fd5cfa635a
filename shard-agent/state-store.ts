// What the agent knows across restarts, in --state-dir, every file written atomically:
//   state.json     what is applied (revision, hash, per-file sha256, verified or not) and recent applies;
//   previous.json  the complete previous file set (contents, or "absent"), for rollback;
//   journal.json   present only while an apply is between "about to write" and "state recorded":
//                  a restarted agent that finds it knows an apply was interrupted and which two
//                  versions (previous.json and the journal's files) can be on disk.
import { mkdirSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { JobOwner } from '../core/document/desired-document.ts';
import type { ApplyRecord } from '../core/protocol/agent-api.ts';
import { removeDurably, removeStaleTempFiles, writeJsonAtomic } from './atomic-write.ts';

export interface FileDigest {
  path: string;
  sha256: string;
}

export interface AppliedState {
  revision: string;
  generation: number;
  hash: string;
  appliedAt: string;
  /** false while Prometheus has not been shown to run it (written-unverified, or found after a crash). */
  verified: boolean;
  files: FileDigest[];
}

export interface PersistedState {
  version: 1;
  shard: string;
  applied: AppliedState | null;
  owners: Record<string, JobOwner>;
  recent: ApplyRecord[];
  /**
   * The highest leader term seen on a push (Kubernetes mode; absent before fencing or outside it).
   * Kept across restarts: a restarted agent must still refuse a deposed leader.
   */
  highestTerm?: number;
}

/** A complete file set: `content: null` means the file did not exist. */
export interface FileSnapshot {
  revision: string | null;
  generation: number | null;
  hash: string;
  files: { path: string; content: string | null }[];
}

export interface ApplyJournal {
  startedAt: string;
  revision: string;
  generation: number;
  hash: string;
  files: FileDigest[];
  /** Hash of previous.json's set, which was written before this journal. */
  previousHash: string;
}

export class StateStore {
  readonly statePath: string;
  readonly previousPath: string;
  readonly journalPath: string;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.statePath = join(dir, 'state.json');
    this.previousPath = join(dir, 'previous.json');
    this.journalPath = join(dir, 'journal.json');
  }

  private async readJson<T>(path: string): Promise<T | null> {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return JSON.parse(text) as T;
  }

  loadState = async () => {
    const s = await this.readJson<PersistedState>(this.statePath);
    if (s) {
      if (s.applied) withGeneration(s.applied);
      s.recent = (s.recent ?? []).map(withGeneration);
    }
    return s;
  };
  private saving: Promise<void> = Promise.resolve();
  /** Writes are chained so that a later state can never be overtaken by an earlier one. */
  saveState = (s: PersistedState): Promise<void> => {
    const text = structuredClone(s);
    const next = this.saving.catch(() => undefined).then(() => writeJsonAtomic(this.statePath, text));
    this.saving = next;
    return next;
  };
  loadPrevious = async () => {
    const p = await this.readJson<FileSnapshot>(this.previousPath);
    return p && withGeneration(p);
  };
  savePrevious = (s: FileSnapshot) => writeJsonAtomic(this.previousPath, s);
  loadJournal = async () => {
    const j = await this.readJson<ApplyJournal>(this.journalPath);
    return j && withGeneration(j);
  };
  saveJournal = (j: ApplyJournal) => writeJsonAtomic(this.journalPath, j);
  clearJournal = () => removeDurably(this.journalPath);
  removeTempFiles = () => removeStaleTempFiles(this.dir);
}

/**
 * Agents before the generation existed recorded the git position as `sequence`. It was monotonic along
 * the branch just as a generation is, so it is taken as the generation: an upgraded agent keeps
 * refusing what it refused before, and a controller recovering its generation from the agents' reports
 * continues above it.
 */
function withGeneration<T extends { generation: number | null }>(record: T): T {
  const legacy = record as T & { sequence?: number | null };
  if (legacy.generation === undefined && legacy.sequence !== undefined) {
    legacy.generation = legacy.sequence;
    delete legacy.sequence;
  }
  return record;
}
