// Reads the examples of docs/rules.md so the docs cannot rot: every rule's section holds a failing
// example (```yaml fails), the exact output it produces (```text finding) and a fixed example
// (```yaml fixed). A YAML block's first line is a comment naming the file (`# teams/netops/main.yaml`),
// and that comment is part of the file, so the line numbers in the finding are the ones a reader sees.
// Examples run against the ```yaml base shards.yaml at the top of the page unless they bring their own.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileFiles } from '../support/repo-fixture.ts';
import type { Compilation } from '../../core/compiler/compile-repository.ts';
import type { Finding } from '../../core/findings/finding.ts';

export const RULES_DOC_PATH = fileURLToPath(new URL('../../docs/rules.md', import.meta.url));

export interface DocBlock {
  lang: string;
  tags: string[];
  text: string;
  /** For YAML blocks: the repository path named by the first-line comment. */
  path?: string;
}

export interface DocSection {
  id: string;
  severity?: string;
  body: string;
  blocks: DocBlock[];
}

export interface RulesDoc {
  text: string;
  base: Record<string, string>;
  sections: Map<string, DocSection>;
}

const FENCE = /^```(\w+)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;

function blocksOf(text: string): DocBlock[] {
  const out: DocBlock[] = [];
  for (const m of text.matchAll(FENCE)) {
    const block: DocBlock = { lang: m[1], tags: m[2].trim().split(/\s+/).filter(Boolean), text: m[3] };
    const first = /^# (\S+\.ya?ml)\s*$/m.exec(m[3].split('\n')[0]);
    if (m[1] === 'yaml' && first) block.path = first[1];
    out.push(block);
  }
  return out;
}

let cached: RulesDoc | undefined;

export function readRulesDoc(): RulesDoc {
  if (cached) return cached;
  const text = readFileSync(RULES_DOC_PATH, 'utf8');
  const parts = text.split(/^## /m);
  const base: Record<string, string> = {};
  for (const b of blocksOf(text)) if (b.tags.includes('base') && b.path) base[b.path] = b.text;
  const sections = new Map<string, DocSection>();
  for (const part of parts.slice(1)) {
    const id = part.split('\n')[0].trim();
    const severity = /\*\*Severity:\*\*\s*(error|warning)/.exec(part)?.[1];
    sections.set(id, { id, severity, body: part, blocks: blocksOf(part) });
  }
  return (cached = { text, base, sections });
}

export function filesOf(blocks: DocBlock[], base: Record<string, string>): Record<string, string> {
  const files: Record<string, string> = {};
  const own = blocks.filter((b) => b.lang === 'yaml' && b.path);
  if (!own.some((b) => b.path === 'shards.yaml')) Object.assign(files, base);
  for (const b of own) files[b.path!] = b.text;
  return files;
}

/** Exactly what `promshard validate` prints per finding (text format, no colour). */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.start.line}:${f.start.column}: ${f.severity} [${f.ruleId}] ${f.message}${f.hint ? `\n    hint: ${f.hint}` : ''}`;
}

export interface RunExample {
  compilation: Compilation;
  output: string;
  expected: string | undefined;
  runnable: boolean;
}

function run(section: DocSection, tag: 'fails' | 'fixed'): RunExample {
  const doc = readRulesDoc();
  const blocks = section.blocks.filter((b) => b.tags.includes(tag));
  const runnable = blocks.length > 0 && blocks.every((b) => b.lang === 'yaml' && b.path);
  const compilation = compileFiles(runnable ? filesOf(blocks, doc.base) : doc.base);
  const output = compilation.findings.map(formatFinding).join('\n');
  const expected = tag === 'fails' ? section.blocks.find((b) => b.tags.includes('finding'))?.text.trimEnd() : '';
  return { compilation, output, expected, runnable };
}

export function failingExample(id: string): RunExample {
  const s = readRulesDoc().sections.get(id);
  if (!s) throw new Error(`docs/rules.md has no section "## ${id}"`);
  return run(s, 'fails');
}

export function fixedExample(id: string): RunExample {
  const s = readRulesDoc().sections.get(id);
  if (!s) throw new Error(`docs/rules.md has no section "## ${id}"`);
  return run(s, 'fixed');
}
