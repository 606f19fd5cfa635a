// The defaults the docs state are the code's defaults. Each documented table is parsed and compared
// with the constants the code uses, so changing either side alone fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CARDINALITY_THRESHOLDS } from '../../core/protocol/cardinality-flag.ts';
import { BUILTIN_CARDINALITY, BUILTIN_DEFAULTS } from '../../core/compiler/effective-settings.ts';
import { DEFAULT_BUDGET_MS, DEFAULT_CONCURRENCY, DEFAULT_INTERVAL_MS } from '../../shard-agent/cardinality/index.ts';

const doc = (name: string) => readFileSync(fileURLToPath(new URL(`../../docs/${name}`, import.meta.url)), 'utf8');

/** Rows of the first Markdown table after `anchor` whose header is exactly `header`: first cell → column. */
function table(text: string, anchor: string, header: string[], column: string): Map<string, string> {
  const from = text.indexOf(anchor);
  assert.ok(from >= 0, `anchor not found: ${anchor}`);
  const lines = text.slice(from).split('\n');
  const cells = (l: string) => l.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
  const start = lines.findIndex((l) => l.trim().startsWith('|') && JSON.stringify(cells(l)) === JSON.stringify(header));
  assert.ok(start >= 0, `no table with header ${header.join(' | ')} after "${anchor}"`);
  const col = header.indexOf(column);
  const out = new Map<string, string>();
  for (const l of lines.slice(start + 2)) {
    if (!l.trim().startsWith('|')) break;
    const c = cells(l);
    out.set(c[0]!.replace(/`/g, ''), c[col]!.replace(/`/g, ''));
  }
  return out;
}

/** A documented value as the code holds it (numbers and booleans parsed, strings kept). */
const value = (s: string): unknown => (s === 'true' ? true : s === 'false' ? false : /^-?[\d.]+$/.test(s) ? Number(s) : s);

function assertSame(documented: Map<string, string>, code: Record<string, unknown>, where: string) {
  assert.deepEqual([...documented.keys()].sort(), Object.keys(code).sort(), `${where}: documented keys differ from the code's`);
  for (const [k, v] of documented) assert.deepEqual(value(v), code[k], `${where}: ${k} is documented as ${v}, the code says ${String(code[k])}`);
}

test('docs/cardinality.md: the thresholds table holds the analyzer defaults', () => {
  const rows = table(doc('cardinality.md'), '## Signals and thresholds', ['field', 'default', 'meaning here'], 'default');
  assertSame(rows, DEFAULT_CARDINALITY_THRESHOLDS, 'docs/cardinality.md');
});

test('docs/writing-team-files.md: the built-in cardinality defaults are the compiler and analyzer defaults', () => {
  const rows = table(doc('writing-team-files.md'), 'The built-in cardinality defaults', ['key', 'built-in default'], 'built-in default');
  assertSame(rows, BUILTIN_CARDINALITY, 'docs/writing-team-files.md');
  assertSame(rows, DEFAULT_CARDINALITY_THRESHOLDS, 'docs/writing-team-files.md (analyzer)');
});

test('docs/writing-team-files.md: the built-in defaults: of shards.yaml are the compiler constants', () => {
  const rows = table(doc('writing-team-files.md'), '`defaults:` (optional)', ['key', 'built-in default', 'meaning'], 'built-in default');
  for (const key of ['interval', 'timeout', 'evaluation_interval'] as const) assert.equal(rows.get(key), BUILTIN_DEFAULTS[key], key);
  const shards = table(doc('writing-team-files.md'), '`shards:` (required)', ['key', 'required', 'meaning'], 'required');
  assert.equal(shards.get('replicas'), `no (${BUILTIN_DEFAULTS.replicas})`);
});

test('docs/cardinality.md: the analyzer options example states the code defaults', () => {
  const m = /intervalMs: ([\d_]+), budgetMs: ([\d_]+), concurrency: (\d+),\s+\/\/ the defaults/.exec(doc('cardinality.md'));
  assert.ok(m, 'the options line with "// the defaults" is missing');
  const n = (s: string) => Number(s.replace(/_/g, ''));
  assert.deepEqual([n(m[1]!), n(m[2]!), n(m[3]!)], [DEFAULT_INTERVAL_MS, DEFAULT_BUDGET_MS, DEFAULT_CONCURRENCY]);
});
