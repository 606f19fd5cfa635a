// Parses one YAML file into plain data, hostile input included. js-yaml is the fast path (10× faster);
// files that use aliases go through `yaml`, whose alias-expansion limit stops a "billion laughs" early.
import jsyaml from 'js-yaml';
import { createRequire } from 'node:module';
import type * as YamlLib from 'yaml';
import type { Node } from 'yaml';
import type { Position } from '../findings/finding.ts';

/** Alias references allowed in one file; real files use a handful. */
export const MAX_ALIAS_COUNT = 100;

export type YamlProblem = { ruleId: 'yaml-syntax' | 'file-unreadable'; message: string; start: Position; end: Position };
export type ParsedYaml = { ok: true; data: unknown; text: string } | { ok: false; problem: YamlProblem };

// `yaml` is loaded on first use only: a repository without aliases and without findings never needs
// it, and loading it costs `validate` about 10 MiB and 70 ms of a 5,000-file run.
let yamlLib: typeof YamlLib | undefined;
function yaml(): typeof YamlLib {
  return (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof YamlLib);
}

const ALIAS_RE = /(^|[\s[{,:-])\*[^\s,\]}]/m;
const START: Position = { line: 1, column: 1 };

export function decodeUtf8Text(bytes: Buffer): { ok: true; text: string } | { ok: false; message: string; start: Position } {
  const nul = bytes.indexOf(0);
  if (nul !== -1) return { ok: false, message: 'file contains NUL bytes: binary files are not configuration', start: positionOfByte(bytes, nul) };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { ok: true, text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  } catch {
    return { ok: false, message: 'file is not valid UTF-8', start: positionOfByte(bytes, firstInvalidUtf8Byte(bytes)) };
  }
}

export function parseYamlText(text: string): ParsedYaml {
  if (ALIAS_RE.test(text) || text.includes('&')) return parseWithAliasLimit(text);
  try {
    const docs: unknown[] = [];
    jsyaml.loadAll(text, (d) => docs.push(d), { schema: jsyaml.CORE_SCHEMA, json: false });
    if (docs.length > 1) return { ok: false, problem: { ruleId: 'yaml-syntax', message: 'file holds several YAML documents (---); keep one per file', start: START, end: START } };
    return { ok: true, data: docs[0] ?? null, text };
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number } };
    const pos = e.mark ? { line: e.mark.line + 1, column: e.mark.column + 1 } : START;
    const reason = (e.reason ?? String(err)).replace('duplicated mapping key', 'duplicate key: a key appears twice in the same mapping');
    return { ok: false, problem: { ruleId: 'yaml-syntax', message: `YAML: ${reason}`, start: pos, end: pos } };
  }
}

function parseWithAliasLimit(text: string): ParsedYaml {
  const { LineCounter, parseDocument } = yaml();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const err = doc.errors[0];
  if (err) {
    const p = lc.linePos(err.pos[0]);
    const dup = /unique/i.test(err.message);
    return { ok: false, problem: { ruleId: 'yaml-syntax', message: dup ? 'YAML: duplicate key: a key appears twice in the same mapping' : `YAML: ${err.message.split('\n')[0]}`, start: { line: p.line, column: p.col }, end: { line: p.line, column: p.col } } };
  }
  try {
    return { ok: true, data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), text };
  } catch (e) {
    return {
      ok: false,
      problem: { ruleId: 'yaml-syntax', message: `YAML: alias expansion exceeds the limit of ${MAX_ALIAS_COUNT} (a "billion laughs" file?); refused: ${(e as Error).message}`, start: START, end: START },
    };
  }
}

function positionOfByte(bytes: Buffer, index: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index; i++) if (bytes[i] === 0x0a) (line++, (lineStart = i + 1));
  return { line, column: index - lineStart + 1 };
}

function firstInvalidUtf8Byte(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, i + 1));
    } catch {
      // an incomplete trailing sequence also throws, so only report bytes that stay invalid with a following byte
      if (i + 4 >= bytes.length) return i;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, i + 4));
      } catch {
        return i;
      }
    }
  }
  return 0;
}

export type PathSegment = string | number;

/**
 * Locates a value (or, with `onKey`, its key) inside a YAML text by its path from the root. Used only
 * when a finding must be shown, so the slower positional parser runs only for files with findings.
 */
export class YamlLocator {
  private doc;
  private lc = new (yaml().LineCounter)();
  constructor(text: string) {
    this.doc = yaml().parseDocument(text, { lineCounter: this.lc, uniqueKeys: false, prettyErrors: false });
  }

  locate(path: readonly PathSegment[], onKey = false): { start: Position; end: Position } {
    const { isMap, isSeq, isPair, isScalar } = yaml();
    let node: unknown = this.doc.contents;
    let range: [number, number, number] | undefined = (node as Node | null)?.range ?? undefined;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const key = pair.key as Node;
        if (last && onKey) {
          range = key.range ?? range;
          node = undefined;
          break;
        }
        node = pair.value;
        range = (pair.value as Node | null)?.range ?? key.range ?? range;
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        node = node.items[seg];
        range = (node as Node).range ?? range;
      } else break;
    }
    if (!range) return { start: START, end: START };
    const s = this.lc.linePos(range[0]);
    // Collections end after their last line's newline; show them ending at their first line instead.
    const endOffset = isMap(node) || isSeq(node) ? range[0] : range[1];
    const e = this.lc.linePos(Math.max(range[0], endOffset));
    return { start: { line: s.line, column: s.col }, end: { line: e.line, column: e.col } };
  }
}
