// The one compiler: CI (`promshard validate|plan|render`) and the controller both call this with the
// same rules (ALL_RULES from ci/rules/index.ts, passed in so that core/ never imports a command
// folder), so what CI approved is exactly what gets rendered. Source files → parsed files → every rule → findings with
// positions → the compiled model (shards → jobs → targets, each knowing its file and line).
import { compareFindings, hasErrors, type Finding, type Position } from '../findings/finding.ts';
import { decodeUtf8Text, parseYamlText, YamlLocator, type PathSegment } from '../repository/parse-yaml-file.ts';
import type { RepositorySource, SourceFile } from '../repository/repository-source.ts';
import { CompileCache, gitBlobId, type LoadedFile } from './compile-cache.ts';
import { fileNameFinding, teamFilePathProblem } from '../repository/file-names.ts';
import { escapeUnsafeCharacters } from '../text/unsafe-characters.ts';
import type { ParsedFile, ParsedRepository, ReportInput, Rule } from './rule.ts';
import { buildModel } from './build-model.ts';
import type { CompiledRepository } from '../../schemas/model.ts';

export interface Compilation {
  findings: Finding[];
  /** Built from every file that parsed and passed the schema; null when shards.yaml is unusable. */
  model: CompiledRepository | null;
  parsed: ParsedRepository;
  /** True when there is no error finding: only then may the model be rendered and rolled out. */
  valid: boolean;
}

const START: Position = { line: 1, column: 1 };

// Parsed YAML by text. `plan` compiles two revisions that share almost every file, and the controller
// recompiles on every commit; parsed data is never mutated, so identical text can share it.
const parseMemo = new Map<string, ReturnType<typeof parseYamlText>>();
const PARSE_MEMO_MAX = 60_000;

function parseYamlTextMemo(text: string): ReturnType<typeof parseYamlText> {
  let r = parseMemo.get(text);
  if (!r) {
    if (parseMemo.size >= PARSE_MEMO_MAX) parseMemo.clear();
    parseMemo.set(text, (r = parseYamlText(text)));
  }
  return r;
}

/** Locates YAML paths in files, parsing each file positionally at most once and only when asked. */
export class SourceLocator {
  private locators = new Map<string, YamlLocator>();
  constructor(private texts: Map<string, string>) {}
  locate(file: string, path: readonly PathSegment[], onKey = false): { start: Position; end: Position } {
    const text = this.texts.get(file);
    if (text === undefined) return { start: START, end: START };
    let loc = this.locators.get(file);
    if (!loc) this.locators.set(file, (loc = new YamlLocator(text)));
    return loc.locate(path, onKey);
  }
}

/** Loads one file: its parsed form, or the findings that keep it out. Depends only on its path and bytes. */
function loadFile(f: SourceFile): LoadedFile {
  const findings: Finding[] = [];
  const fileFinding = (file: string, ruleId: string, message: string, start = START, end = start) =>
    findings.push({ ruleId, severity: 'error', file, start, end, message });
  const isShards = f.path === 'shards.yaml' || f.path === 'shards.yml';
  const done = (file?: ParsedFile): LoadedFile => ({ file, isShards, findings });
  if (f.problem || !f.bytes) {
    fileFinding(f.path, f.problem?.ruleId ?? 'file-unreadable', f.problem?.message ?? 'file could not be read');
    return done();
  }
  const parts = f.path.split('/');
  if (!isShards && !(parts.length === 3 && parts[0] === 'teams')) {
    fileFinding(f.path, 'file-layout', `team files belong directly in teams/<team>/; ${escapeUnsafeCharacters(JSON.stringify(f.path))} is not read`);
    return done();
  }
  const nameProblem = isShards ? undefined : teamFilePathProblem(f.path);
  if (nameProblem) {
    findings.push({ ruleId: 'file-name', severity: 'error', file: f.path, start: START, end: START, ...fileNameFinding(nameProblem) });
    return done();
  }
  const decoded = decodeUtf8Text(f.bytes);
  if (!decoded.ok) {
    fileFinding(f.path, 'file-unreadable', decoded.message, decoded.start);
    return done();
  }
  const y = parseYamlTextMemo(decoded.text);
  if (!y.ok) {
    fileFinding(f.path, y.problem.ruleId, y.problem.message, y.problem.start, y.problem.end);
    return done();
  }
  return done({ path: f.path, kind: isShards ? 'shards' : 'team', teamFolder: isShards ? undefined : parts[1], text: decoded.text, data: y.data });
}

export function parseRepository(source: RepositorySource, cache?: CompileCache): { parsed: ParsedRepository; findings: Finding[]; texts: Map<string, string> } {
  const findings: Finding[] = [];
  const texts = new Map<string, string>();
  const parsed: ParsedRepository = { shardsFile: null, teamFiles: [] };
  const fileFinding = (file: string, ruleId: string, message: string, start = START, end = start) =>
    findings.push({ ruleId, severity: 'error', file, start, end, message });

  for (const f of source.files) {
    let loaded: LoadedFile;
    if (cache && f.bytes && !f.problem) {
      const blob = f.blob ?? gitBlobId(f.bytes);
      loaded = cache.peek(f.path, blob) ?? cache.load(f.path, blob, () => ({ ...loadFile(f), bytes: f.bytes }));
    } else loaded = loadFile(f);
    if (loaded.findings.length > 0) findings.push(...loaded.findings);
    const file = loaded.file;
    if (!file) continue;
    texts.set(f.path, file.text);
    if (loaded.isShards) {
      if (parsed.shardsFile) fileFinding(f.path, 'file-layout', `both shards.yaml and shards.yml exist; keep one (using ${parsed.shardsFile.path})`);
      else parsed.shardsFile = file;
    } else parsed.teamFiles.push(file);
  }
  if (!parsed.shardsFile && !findings.some((f) => f.file.startsWith('shards.'))) {
    fileFinding('shards.yaml', 'file-layout', 'shards.yaml is missing: the repository must declare its shards at its root');
  }
  return { parsed, findings, texts };
}

const INTERNAL_ERROR = 'internal error in rule';
const isInternalError = (f: Finding) => f.message.startsWith(INTERNAL_ERROR);

/** The shard group of a team file for 'shard'-scoped rules: its `shard:` value when a string (as the rules read it). */
function shardGroupOf(file: ParsedFile): string {
  const d = file.data;
  return typeof d === 'object' && d !== null && !Array.isArray(d) && typeof (d as Record<string, unknown>).shard === 'string' ? ((d as Record<string, unknown>).shard as string) : '';
}

/**
 * The same findings as `runRules(parsed, locator, rules)`, reusing what `cache` holds (see Rule.scope):
 * 'file' rules run only on team files not seen before, 'shard' rules only on shard groups whose files
 * changed, the rest on everything. A rule that crashed is never cached, so its error stays.
 */
export function runRulesCached(parsed: ParsedRepository, locator: SourceLocator, cache: CompileCache, rules: readonly Rule[]): Finding[] {
  const shardsFile = parsed.shardsFile;
  cache.useShardsFile(shardsFile ? (cache.keyOf(shardsFile) ?? `uncached:${shardsFile.text}`) : 'none');
  const fileRules = rules.filter((r) => r.scope === 'file');
  const shardRules = rules.filter((r) => r.scope === 'shard');
  const otherRules = rules.filter((r) => r.scope !== 'file' && r.scope !== 'shard');
  const out: Finding[] = [];

  if (shardsFile && cache.shardsFileFindings === null) {
    const found = runRules({ shardsFile, teamFiles: [] }, locator, fileRules);
    if (!found.some(isInternalError)) cache.shardsFileFindings = found;
    else out.push(...found);
  }
  if (shardsFile) out.push(...(cache.shardsFileFindings ?? []));
  const stale: ParsedFile[] = [];
  const fresh: Finding[][] = [];
  for (const f of parsed.teamFiles) {
    const key = cache.keyOf(f);
    const known = key !== undefined ? cache.fileFindingsOf(key) : undefined;
    if (known) fresh.push(known);
    else stale.push(f);
  }
  if (stale.length > 0) {
    const byFile = new Map<string, Finding[]>(stale.map((f) => [f.path, []]));
    for (const finding of runRules({ shardsFile, teamFiles: stale }, locator, fileRules)) {
      if (isInternalError(finding)) out.push(finding);
      else byFile.get(finding.file)?.push(finding); // shards.yaml's own findings are cached above
    }
    for (const f of stale) {
      const key = cache.keyOf(f);
      if (key) cache.setFileFindings(key, byFile.get(f.path)!);
      out.push(...byFile.get(f.path)!);
    }
  }
  for (const known of fresh) out.push(...known);

  const groups = new Map<string, ParsedFile[]>();
  for (const f of parsed.teamFiles) {
    const g = shardGroupOf(f);
    let list = groups.get(g);
    if (!list) groups.set(g, (list = []));
    list.push(f);
  }
  cache.retainShardGroups(new Set(groups.keys()));
  for (const [group, files] of groups) {
    const signature = files.map((f) => cache.keyOf(f) ?? `uncached:${f.path}:${f.text}`).join('\n');
    const hit = cache.shardGroup(group);
    if (hit && hit.signature === signature) {
      out.push(...hit.findings);
      continue;
    }
    const found = runRules({ shardsFile, teamFiles: files }, locator, shardRules);
    if (!found.some(isInternalError)) cache.setShardGroup(group, signature, found);
    out.push(...found);
  }
  if (groups.size === 0) out.push(...runRules({ shardsFile, teamFiles: [] }, locator, shardRules));

  out.push(...runRules(parsed, locator, otherRules));
  return out;
}

export function runRules(parsed: ParsedRepository, locator: SourceLocator, rules: readonly Rule[]): Finding[] {
  const findings: Finding[] = [];
  for (const rule of rules) {
    const report = (input: ReportInput) => {
      const { start, end } = locator.locate(input.file, input.path, input.onKey);
      findings.push({
        ruleId: rule.id,
        severity: input.severity ?? rule.severity,
        file: input.file,
        start,
        end,
        message: input.message,
        ...(input.hint ? { hint: input.hint } : {}),
        ...(input.related
          ? { related: input.related.map((r) => ({ file: r.file, start: locator.locate(r.file, r.path, r.onKey).start, message: r.message })) }
          : {}),
      });
    };
    try {
      rule.check({ repo: parsed, report });
    } catch (err) {
      // A rule bug must not hide other findings, nor pass an invalid repository.
      findings.push({ ruleId: rule.id, severity: 'error', file: 'shards.yaml', start: START, end: START, message: `${INTERNAL_ERROR} ${rule.id}: ${(err as Error).message}` });
    }
  }
  return findings;
}

export interface CompileOptions {
  /** The rules to run: every caller passes ALL_RULES (ci/rules/index.ts); tests may pass fewer. */
  rules: readonly Rule[];
  /** false skips the model, for callers that only need findings (validate). */
  withModel?: boolean;
  /** false skips the rules, for callers that only need the model of a revision already judged (plan's base). */
  withRules?: boolean;
  cache?: CompileCache;
}

export function compileRepository(source: RepositorySource, opts: CompileOptions): Compilation {
  const { cache, rules } = opts;
  const { parsed, findings: loadFindings, texts } = parseRepository(source, cache);
  const locator = new SourceLocator(texts);
  const ruleFindings = opts.withRules === false ? [] : cache ? runRulesCached(parsed, locator, cache, rules) : runRules(parsed, locator, rules);
  const findings = [...loadFindings, ...ruleFindings].sort(compareFindings);
  const model = opts.withModel === false ? null : buildModel(parsed, locator, cache);
  return { findings, model, parsed, valid: !hasErrors(findings) && (model !== null || opts.withModel === false) };
}
