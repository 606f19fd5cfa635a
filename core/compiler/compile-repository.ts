// The one compiler: CI (`promshard validate|plan|render`) and the controller both call this, so what CI
// approved is exactly what gets rendered. Source files → parsed files → every rule → findings with
// positions → the compiled model (shards → jobs → targets, each knowing its file and line).
import { compareFindings, hasErrors, type Finding, type Position } from '../findings/finding.ts';
import { decodeUtf8Text, parseYamlText, YamlLocator, type PathSegment } from '../repository/parse-yaml-file.ts';
import type { RepositorySource } from '../repository/repository-source.ts';
import { fileNameFinding, teamFilePathProblem } from '../repository/file-names.ts';
import type { ParsedFile, ParsedRepository, ReportInput, Rule } from '../../ci/rules/rule.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
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

export function parseRepository(source: RepositorySource): { parsed: ParsedRepository; findings: Finding[]; texts: Map<string, string> } {
  const findings: Finding[] = [];
  const texts = new Map<string, string>();
  const parsed: ParsedRepository = { shardsFile: null, teamFiles: [] };
  const fileFinding = (file: string, ruleId: string, message: string, start = START, end = start) =>
    findings.push({ ruleId, severity: 'error', file, start, end, message });

  for (const f of source.files) {
    if (f.problem || !f.bytes) {
      fileFinding(f.path, f.problem?.ruleId ?? 'file-unreadable', f.problem?.message ?? 'file could not be read');
      continue;
    }
    const isShards = f.path === 'shards.yaml' || f.path === 'shards.yml';
    const parts = f.path.split('/');
    if (!isShards && !(parts.length === 3 && parts[0] === 'teams')) {
      fileFinding(f.path, 'file-layout', `team files belong directly in teams/<team>/; "${f.path}" is not read`);
      continue;
    }
    const nameProblem = isShards ? undefined : teamFilePathProblem(f.path);
    if (nameProblem) {
      findings.push({ ruleId: 'file-name', severity: 'error', file: f.path, start: START, end: START, ...fileNameFinding(nameProblem) });
      continue;
    }
    const decoded = decodeUtf8Text(f.bytes);
    if (!decoded.ok) {
      fileFinding(f.path, 'file-unreadable', decoded.message, decoded.start);
      continue;
    }
    const y = parseYamlTextMemo(decoded.text);
    if (!y.ok) {
      fileFinding(f.path, y.problem.ruleId, y.problem.message, y.problem.start, y.problem.end);
      continue;
    }
    texts.set(f.path, decoded.text);
    const file: ParsedFile = { path: f.path, kind: isShards ? 'shards' : 'team', teamFolder: isShards ? undefined : parts[1], text: decoded.text, data: y.data };
    if (isShards) {
      if (parsed.shardsFile) fileFinding(f.path, 'file-layout', `both shards.yaml and shards.yml exist; keep one (using ${parsed.shardsFile.path})`);
      else parsed.shardsFile = file;
    } else parsed.teamFiles.push(file);
  }
  if (!parsed.shardsFile && !findings.some((f) => f.file.startsWith('shards.'))) {
    fileFinding('shards.yaml', 'file-layout', 'shards.yaml is missing: the repository must declare its shards at its root');
  }
  return { parsed, findings, texts };
}

export function runRules(parsed: ParsedRepository, locator: SourceLocator, rules: readonly Rule[] = ALL_RULES): Finding[] {
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
      findings.push({ ruleId: rule.id, severity: 'error', file: 'shards.yaml', start: START, end: START, message: `internal error in rule ${rule.id}: ${(err as Error).message}` });
    }
  }
  return findings;
}

/**
 * `withModel: false` skips the model, for callers that only need findings (validate); `withRules:
 * false` skips the rules, for callers that only need the model of a revision already judged (plan's base).
 */
export function compileRepository(source: RepositorySource, opts: { withModel?: boolean; withRules?: boolean } = {}): Compilation {
  const { parsed, findings: loadFindings, texts } = parseRepository(source);
  const locator = new SourceLocator(texts);
  const findings = [...loadFindings, ...(opts.withRules === false ? [] : runRules(parsed, locator))].sort(compareFindings);
  const model = opts.withModel === false ? null : buildModel(parsed, locator);
  return { findings, model, parsed, valid: !hasErrors(findings) && (model !== null || opts.withModel === false) };
}
