// One team's broken file must not hold back everyone else's changes. A team file with error findings
// is served at its last good version (or left out when it never had one) and everything else rolls
// out; the result is compiled again as a whole and served only when it has no error at all, so nothing
// invalid is ever rendered. Only what cannot be pinned on files that changed holds the whole fleet:
// an error in shards.yaml, or an error that stays with every file involved at its last good version
// (for example a job name that the last good version of a quarantined file shares with another file).
import { hasErrors, type Finding } from '../core/findings/finding.ts';
import type { Compilation } from '../core/compiler/compile-repository.ts';
import type { RepositorySource, SourceFile } from '../core/repository/repository-source.ts';

/** A file's version that may be served instead of a broken one. */
export interface LastGoodFile {
  blob: string;
  bytes: Buffer;
  /** The commit that version comes from. */
  revision: string;
}

export interface QuarantinedFile {
  /** Relative to the folder holding shards.yaml. */
  file: string;
  /** The team folder (teams/<team>/), when the file is in one. */
  team: string | null;
  /** The error findings that put it in quarantine. */
  findings: Finding[];
  /** The version served instead, or null when the file is left out (it never had a good version). */
  kept: { blob: string; revision: string } | null;
}

export interface QuarantineOutcome {
  /** The compilation of what is served (valid), or of the last attempt when `stopReason` is set. */
  compilation: Compilation;
  /** The files served (the head's, with quarantined ones replaced or left out); null when stopped. */
  served: SourceFile[] | null;
  quarantined: QuarantinedFile[];
  /** Why nothing of this revision can be served. */
  stopReason: string | null;
}

const isShardsFile = (path: string) => path === 'shards.yaml' || path === 'shards.yml';
const where = (f: Finding) => `${f.file}:${f.start.line}:${f.start.column} ${f.message}`;

export function teamOfPath(path: string): string | null {
  const parts = path.split('/');
  return parts.length === 3 && parts[0] === 'teams' ? parts[1] : null;
}

export async function compileWithQuarantine(
  head: RepositorySource,
  headCompilation: Compilation,
  compile: (source: RepositorySource) => Compilation,
  lastGoodOf: (path: string) => Promise<LastGoodFile | undefined>,
): Promise<QuarantineOutcome> {
  const files = new Map(head.files.map((f) => [f.path, f]));
  const quarantined = new Map<string, QuarantinedFile>();
  let compilation = headCompilation;
  // Each pass replaces at least one file that was not yet at its last good version, so this ends.
  for (let pass = 0; pass <= head.files.length + 1; pass++) {
    const errors = compilation.findings.filter((f) => f.severity === 'error');
    if (!hasErrors(errors) && compilation.valid) {
      return { compilation, served: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1)), quarantined: [...quarantined.values()], stopReason: null };
    }
    const stop = (reason: string): QuarantineOutcome => ({ compilation, served: null, quarantined: [...quarantined.values()], stopReason: reason });
    const global = errors.filter((f) => isShardsFile(f.file));
    if (global.length > 0 || (errors.length === 0 && !compilation.valid)) {
      return stop(`${global[0]?.file ?? 'shards.yaml'} has errors, and it is shared by every shard, so the whole fleet holds: ${global.slice(0, 3).map(where).join('; ') || 'it is missing or unusable'}`);
    }
    // A file can be replaced when what is served now is not its last good version.
    const replaceable = async (path: string) => {
      const current = files.get(path);
      if (!current) return false;
      const good = await lastGoodOf(path);
      return !good || good.blob !== current.blob;
    };
    const replace = new Map<string, Finding[]>();
    const stuck: Finding[] = [];
    for (const f of errors) {
      let targets = (await replaceable(f.file)) ? [f.file] : [];
      // A cross-file error (a duplicate) reported on an unchanged file: the file that changed is the other one.
      if (targets.length === 0) for (const r of f.related ?? []) if (r.file !== f.file && !isShardsFile(r.file) && (await replaceable(r.file))) targets.push(r.file);
      if (targets.length === 0) stuck.push(f);
      for (const t of targets) replace.set(t, [...(replace.get(t) ?? []), f]);
    }
    if (replace.size === 0) {
      return stop(
        `errors remain with every file involved at its last good version, so the whole fleet holds: ${stuck.slice(0, 3).map(where).join('; ')}` +
          (quarantined.size > 0 ? ` (quarantined: ${[...quarantined.keys()].join(', ')})` : ''),
      );
    }
    for (const [path, why] of replace) {
      const good = await lastGoodOf(path);
      const prior = quarantined.get(path);
      const findings = [...(prior?.findings ?? []), ...why];
      if (good) files.set(path, { path, blob: good.blob, bytes: good.bytes });
      else files.delete(path);
      quarantined.set(path, { file: path, team: teamOfPath(path), findings, kept: good ? { blob: good.blob, revision: good.revision } : null });
    }
    compilation = compile({ origin: `${head.origin} (quarantined: ${[...quarantined.keys()].join(', ')})`, files: [...files.values()] });
  }
  return { compilation, served: null, quarantined: [...quarantined.values()], stopReason: 'quarantine did not settle (a bug): the whole fleet holds' };
}
