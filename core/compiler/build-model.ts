// Builds the compiled model from parsed files. Only schema-valid files take part, so the types below
// can be trusted; the rules have already reported everything else.
import type { CompiledJob, CompiledRepository, CompiledShard, CompiledTarget, Job, Shard, ShardsFile, SourceLocation, TeamFile } from '../../schemas/model.ts';
import type { ParsedFile, ParsedRepository } from './rule.ts';
import { schemaErrorsOf } from './schema-validator.ts';
import { YamlLocator, type PathSegment } from '../repository/parse-yaml-file.ts';
import type { CompileCache } from './compile-cache.ts';
import { BUILTIN_CARDINALITY, BUILTIN_DEFAULTS, mergeLayers, mergeLimits } from './effective-settings.ts';
import { parseDurationMs } from '../time/duration.ts';
import { isAcceptedTeamFilePath } from '../repository/file-names.ts';
import { secretsRootOf } from './secret-paths.ts';
import { DEFAULT_SPLIT_BY } from '../document/split-name.ts';

interface Locator {
  locate(file: string, path: readonly PathSegment[], onKey?: boolean): { start: { line: number; column: number } };
}

/**
 * A source location whose line is looked up only when first read (positional parsing is the slow
 * part). Getters live on the prototype so that 50,000 targets cost one small object each.
 */
class LazySource implements SourceLocation {
  private cached?: { line: number; column: number };
  constructor(
    readonly file: string,
    private readonly resolve: () => { line: number; column: number },
  ) {}
  private get position() {
    return (this.cached ??= this.resolve());
  }
  get line() {
    return this.position.line;
  }
  get column() {
    return this.position.column;
  }
  toJSON(): SourceLocation {
    return { file: this.file, line: this.line, column: this.column };
  }
}

function lazySource(locator: Locator, file: string, path: PathSegment[], quick?: () => { line: number; column: number } | undefined): SourceLocation {
  return new LazySource(file, () => quick?.() ?? locator.locate(file, path).start);
}

const NAME_LINE = /^([ \t]*(?:-[ \t]+)?)name:[ \t]*(?:"([^"]*)"|'([^']*)'|([^#\s]+))[ \t]*(?:#.*)?$/;

/**
 * Every `name:` line of a file, found by one pass over its lines: ~100× cheaper than a positional
 * parse. A name found more than once is left out, so the caller falls back to the parser for it.
 */
export function nameLinesByText(text: string): Map<string, { line: number; column: number }> {
  const found = new Map<string, { line: number; column: number } | null>();
  let line = 0;
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    line++;
    const i = text.indexOf('name:', pos);
    if (i !== -1 && i < nl) {
      const m = NAME_LINE.exec(text.slice(pos, nl));
      if (m) {
        const name = m[2] ?? m[3] ?? m[4];
        found.set(name, found.has(name) ? null : { line, column: m[1].length + 1 });
      }
    }
    pos = nl + 1;
  }
  const out = new Map<string, { line: number; column: number }>();
  for (const [k, v] of found) if (v) out.set(k, v);
  return out;
}

// Parsed files are reused across compilations (compile-cache.ts): check each one's path once.
const acceptedPaths = new WeakMap<ParsedFile, boolean>();
function acceptedPath(file: ParsedFile): boolean {
  let ok = acceptedPaths.get(file);
  if (ok === undefined) acceptedPaths.set(file, (ok = isAcceptedTeamFilePath(file.path)));
  return ok;
}

function fileLocator(text: string): Locator {
  let yaml: YamlLocator | undefined;
  return { locate: (_file, path, onKey) => (yaml ??= new YamlLocator(text)).locate(path, onKey) };
}

export function buildModel(parsed: ParsedRepository, locator: Locator, cache?: CompileCache): CompiledRepository | null {
  const shardsFile = parsed.shardsFile;
  if (!shardsFile || schemaErrorsOf(shardsFile).length > 0) return null;
  const fleet = shardsFile.data as ShardsFile;
  const defaults = fleet.defaults ?? {};
  const shards = new Map<string, { def: Shard; compiled: CompiledShard }>();
  for (const def of fleet.shards) {
    if (shards.has(def.name)) continue;
    shards.set(def.name, {
      def,
      compiled: {
        name: def.name,
        replicas: def.replicas ?? BUILTIN_DEFAULTS.replicas,
        budget: def.budget,
        externalLabels: { ...(def.external_labels ?? {}) },
        evaluationInterval: defaults.evaluation_interval ?? BUILTIN_DEFAULTS.evaluation_interval,
        interval: def.interval ?? defaults.interval ?? BUILTIN_DEFAULTS.interval,
        timeout: def.timeout ?? defaults.timeout ?? BUILTIN_DEFAULTS.timeout,
        jobs: [],
        split: { count: def.split ?? 1, by: def.split_by ?? DEFAULT_SPLIT_BY },
        // A shard's own list replaces the fleet's rather than merging: an override that must drop a
        // fleet endpoint (a shard in another region writing to its regional store) needs no way to say "minus".
        remoteWrite: def.remote_write ?? fleet.remote_write ?? [],
      },
    });
  }
  const seenJobs = new Set<string>();
  const files: string[] = [];
  const addJobs = (jobs: CompiledJob[], shard: CompiledShard) => {
    for (const job of jobs) {
      if (seenJobs.has(job.name)) continue; // duplicate-job reports it; the first definition wins
      seenJobs.add(job.name);
      shard.jobs.push(job);
    }
  };
  for (const file of parsed.teamFiles) {
    // A name outside the file-name rule's set never enters the model, so it cannot reach a rendered
    // configuration, an owner record or the dashboard even through a caller that ignores findings.
    if (!acceptedPath(file)) continue;
    files.push(file.path);
    if (schemaErrorsOf(file).length > 0) continue;
    const team = file.data as TeamFile;
    const shard = shards.get(team.shard);
    if (!shard) continue;
    const known = cache?.knownJobsOf(file);
    if (known) {
      addJobs(known, shard.compiled);
      continue;
    }
    const compileFile = (loc: Locator) => {
      let lines: Map<string, { line: number; column: number }> | undefined;
      const nameLines = () => (lines ??= nameLinesByText(file.text));
      return team.jobs.map((job, i) => compileJob(job, team, shard, defaults, file.path, ['jobs', i], loc, nameLines));
    };
    // Cached jobs outlive this compilation, so they locate lines through their own file's text only.
    addJobs(cache ? cache.jobsOf(file, () => compileFile(fileLocator(file.text))) : compileFile(locator), shard.compiled);
  }
  const compiledShards = [...shards.values()].map((s) => s.compiled).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const s of compiledShards) s.jobs.sort((a, b) => (a.name < b.name ? -1 : 1));
  // An unusable root is an error finding of credential-path, so this model is never rendered; keep the text for display.
  const root = secretsRootOf(fleet.secrets_root);
  return { shards: compiledShards, files, secretsRoot: root.ok ? root.normalised : (fleet.secrets_root ?? '') };
}

function compileJob(
  job: Job,
  team: TeamFile,
  shard: { def: Shard; compiled: CompiledShard },
  defaults: NonNullable<ShardsFile['defaults']>,
  file: string,
  path: PathSegment[],
  locator: Locator,
  nameLines: () => Map<string, { line: number; column: number }>,
): CompiledJob {
  const interval = job.interval ?? shard.compiled.interval;
  let timeout = job.timeout ?? shard.compiled.timeout;
  // An inherited timeout longer than the job's own interval would make Prometheus refuse the config.
  if (!job.timeout && (parseDurationMs(timeout) ?? 0) > (parseDurationMs(interval) ?? Infinity)) timeout = interval;
  const targets: CompiledTarget[] = [];
  (job.targets ?? []).forEach((address, i) =>
    targets.push({ address, labels: { ...(job.labels ?? {}) }, source: lazySource(locator, file, [...path, 'targets', i]) }),
  );
  (job.target_groups ?? []).forEach((g, gi) =>
    g.targets.forEach((address, i) =>
      targets.push({ address, labels: { ...(job.labels ?? {}), ...(g.labels ?? {}) }, source: lazySource(locator, file, [...path, 'target_groups', gi, 'targets', i]) }),
    ),
  );
  return {
    name: job.name,
    team: team.team,
    shard: shard.compiled.name,
    source: lazySource(locator, file, path, () => nameLines().get(job.name)),
    spec: { ...job, interval, timeout, limits: mergeLimits(defaults.limits, shard.def.limits, job.limits) },
    targets,
    cardinality: mergeLayers(BUILTIN_CARDINALITY, defaults.cardinality, shard.def.cardinality, job.cardinality) as Required<typeof BUILTIN_CARDINALITY>,
  };
}
