// Merges a cardinality fix's new rules into one job's `metric_relabel_configs` in a team file, leaving
// every other byte of the file as the team wrote it.
//
// The yaml package's Document API finds the job, its rules and their exact source ranges, and renders
// the new rules; the result is the original text with those nodes inserted at that range. Printing the
// whole Document back (`doc.toString()`) is not used because it re-flows every multi-line plain
// scalar, re-pads flow collections and re-indents the file: on this project's example repository 18 of
// 20 team files came back different without any edit. The merged text is parsed again and checked to be
// the original data plus exactly the added rules, so an insertion at a wrong place cannot go unnoticed.
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, isSeq, parseDocument, visit, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import type { RelabelConfig } from '../../schemas/model.ts';
import { RELABEL_KEY_ORDER, sameRule } from '../relabel/job-relabel-rules.ts';

/** The fix cannot be applied to this file; `message` says why, with file:line:col where there is one. */
export class FixRefused extends Error {}

export interface TeamFileEdit {
  /** The whole new file. */
  text: string;
  /** The rules inserted (the flag's new rules the job did not already have in the file). */
  added: RelabelConfig[];
  /** The job's rules in the file before the edit (kept, unchanged and in order). */
  kept: number;
  /** 1-based line of the job's `name` key. */
  jobLine: number;
}

const KEY = 'metric_relabel_configs';

function lineOf(text: string, offset: number): { line: number; column: number; lineStart: number } {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return { line, column: offset - lineStart + 1, lineStart };
}

/** Offset just after the end of the line holding `offset - 1` (the line where a node ends). */
function afterLineEnd(text: string, end: number): number {
  if (end > 0 && text[end - 1] === '\n') return end;
  const nl = text.indexOf('\n', end);
  return nl === -1 ? text.length : nl + 1;
}

/** Block YAML for a list of rules, each line indented by `indent` spaces; `source_labels` in flow style as in the docs. */
export function renderRules(rules: readonly RelabelConfig[], indent: number, comment?: string): string {
  // Keys in the order the docs use (action last), whatever order the rule object has.
  const ordered = rules.map((r) => Object.fromEntries(RELABEL_KEY_ORDER.filter((k) => r[k] !== undefined).map((k) => [k, r[k]])));
  const doc = new Document(ordered);
  visit(doc, { Pair: (_, pair) => void (isSeq(pair.value) && (pair.value.flow = isScalar(pair.key) && pair.key.value === 'source_labels')) });
  const pad = ' '.repeat(indent);
  const body = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  const lines = (comment ? [`# ${comment}`] : []).concat(body.replace(/\n$/, '').split('\n'));
  return lines.map((l) => pad + l).join('\n') + '\n';
}

function findJob(doc: ReturnType<typeof parseDocument>, file: string, text: string, job: string): YAMLMap {
  const jobs = isMap(doc.contents) ? doc.contents.get('jobs', true) : undefined;
  if (!isSeq(jobs)) throw new FixRefused(`${file}: no jobs list: the file is not a team file any more`);
  const matches = jobs.items.filter((j): j is YAMLMap => isMap(j) && j.get('name') === job);
  if (matches.length === 0) throw new FixRefused(`${file}: job "${job}" is not in this file any more (renamed, moved or removed since the flag was raised); nothing was changed`);
  if (matches.length > 1) {
    const at = lineOf(text, matches[1]!.range![0]);
    throw new FixRefused(`${file}:${at.line}:${at.column}: job "${job}" appears twice; fix the file first`);
  }
  return matches[0]!;
}

/**
 * The team file with `rules` merged into job `job`'s metric_relabel_configs: the job's own rules first,
 * unchanged (comments included), then those of `rules` the job does not already have. `comment` is put
 * on a line above the first added rule. Throws FixRefused when the job is gone, when every rule is
 * already there, or when the job is written in a form this edit does not handle.
 */
export function mergeFixIntoTeamFile(text: string, file: string, job: string, rules: readonly RelabelConfig[], comment?: string): TeamFileEdit {
  const doc = parseDocument(text, { keepSourceTokens: true, uniqueKeys: true });
  if (doc.errors.length) {
    const at = lineOf(text, doc.errors[0]!.pos[0]);
    throw new FixRefused(`${file}:${at.line}:${at.column}: not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); fix the file first`);
  }
  const jobMap = findJob(doc, file, text, job);
  const jobAt = lineOf(text, jobMap.range![0]);
  if (jobMap.flow) throw new FixRefused(`${file}:${jobAt.line}:${jobAt.column}: job "${job}" is written as a flow mapping ({...}); write it in block style to let promshard add rules to it`);

  const pair = jobMap.items.find((p) => isScalar(p.key) && p.key.value === KEY) as Pair<Node, Node | null> | undefined;
  const value = pair?.value ?? null;
  const existing = isSeq(value) ? (value.toJS(doc) as RelabelConfig[]) : [];
  if (value !== null && !isSeq(value) && !(isScalar(value) && value.value === null)) {
    const at = lineOf(text, value.range![0]);
    throw new FixRefused(`${file}:${at.line}:${at.column}: ${KEY} of job "${job}" is not a list; fix the file first`);
  }
  const added = rules.filter((r) => !existing.some((e) => sameRule(e, r)));
  if (added.length === 0) throw new FixRefused(`${file}:${jobAt.line}: job "${job}" already has every rule of this fix in ${KEY} (merged, perhaps not rolled out yet); nothing to change`);

  let out: string;
  if (isSeq(value) && !value.flow && value.items.length > 0) {
    // After the job's last rule, at the column of its `-`.
    const seq = value as YAMLSeq;
    const dash = lineOf(text, seq.range![0]);
    const at = afterLineEnd(text, (seq.items[seq.items.length - 1] as Node).range![1]);
    out = text.slice(0, at) + (at === text.length && !text.endsWith('\n') ? '\n' : '') + renderRules(added, dash.column - 1, comment) + text.slice(at);
  } else if (pair) {
    // `metric_relabel_configs: []`, a flow list or an empty value: this one key's value becomes a block list.
    const keyNode = pair.key as Node;
    const keyAt = lineOf(text, keyNode.range![0]);
    const indent = keyAt.column - 1 + 2;
    const colon = text.indexOf(':', keyNode.range![1]);
    const end = afterLineEnd(text, !value || (isScalar(value) && value.value === null) ? colon + 1 : value.range![1]);
    const ownRules = existing.length ? renderRules(existing, indent) : '';
    out = text.slice(0, colon + 1) + '\n' + ownRules + renderRules(added, indent, comment) + text.slice(end);
  } else {
    // No key: a new one after the job's last key, at the column of the job's keys.
    const last = jobMap.items[jobMap.items.length - 1]!;
    const lastEnd = ((last.value as Node | null)?.range ?? (last.key as Node).range)![1];
    const at = afterLineEnd(text, lastEnd);
    const pad = ' '.repeat(jobAt.column - 1);
    out = text.slice(0, at) + (at === text.length && !text.endsWith('\n') ? '\n' : '') + `${pad}${KEY}:\n` + renderRules(added, jobAt.column - 1 + 2, comment) + text.slice(at);
  }

  checkMerge(text, out, file, job, existing, added);
  return { text: out, added, kept: existing.length, jobLine: jobAt.line };
}

/** The new text must hold the old data, with only the job's rule list grown by `added`. */
function checkMerge(before: string, after: string, file: string, job: string, existing: RelabelConfig[], added: RelabelConfig[]): void {
  const parsed = parseDocument(after, { uniqueKeys: true });
  if (parsed.errors.length) throw new Error(`internal error: the merged ${file} does not parse (${parsed.errors[0]!.message}); nothing was changed`);
  const expected = parseDocument(before).toJS() as { jobs: Record<string, unknown>[] };
  const target = expected.jobs.find((j) => j?.name === job)!;
  target[KEY] = [...existing, ...added];
  if (!isDeepStrictEqual(parsed.toJS(), expected)) throw new Error(`internal error: merging into ${file} changed more than job "${job}"'s ${KEY}; nothing was changed`);
}
