// The loader against hostile or broken files: every one is refused quickly, with a clear message, a
// location and a rule id, and none of them stops the other files from being checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { compileRepository, type Compilation } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { readRepositoryFromDirectory, MAX_FILE_BYTES } from '../../core/repository/repository-source.ts';
import { BASIC_SHARDS_YAML, writeRepository } from '../support/repo-fixture.ts';
import type { Finding } from '../../core/findings/finding.ts';

const GOOD = 'team: netops\nshard: networking\njobs:\n  - name: good\n    targets: [good1.internal:9100]\n';
const roots: string[] = [];
test.after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Writes shards.yaml, a good team file and `files`, then compiles the directory. */
function compileDir(files: Record<string, string | Buffer>, prepare?: (root: string) => void): { c: Compilation; ms: number } {
  const root = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/good.yaml': GOOD, ...files });
  roots.push(root);
  prepare?.(root);
  const t0 = performance.now();
  const c = compileRepository(readRepositoryFromDirectory(root), { rules: ALL_RULES });
  return { c, ms: performance.now() - t0 };
}

function only(c: Compilation, file: string): Finding {
  const f = c.findings.filter((x) => x.file === file);
  assert.equal(f.length, 1, JSON.stringify(c.findings, null, 1));
  // The good file was still checked and compiled.
  assert.ok(c.model?.shards.find((s) => s.name === 'networking')?.jobs.some((j) => j.name === 'good'), 'the good file must still compile');
  assert.equal(c.valid, false);
  return f[0];
}

test('a file over 1 MiB is refused before it is read', () => {
  const big = 'team: netops\n# ' + 'x'.repeat(MAX_FILE_BYTES) + '\n';
  const { c, ms } = compileDir({ 'teams/netops/big.yaml': big });
  const f = only(c, 'teams/netops/big.yaml');
  assert.equal(f.ruleId, 'file-unreadable');
  assert.match(f.message, /over the 1048576-byte limit/);
  assert.deepEqual(f.start, { line: 1, column: 1 });
  assert.ok(ms < 1000, `${ms} ms`);
});

test('a YAML alias bomb (billion laughs) fails fast with a clear message', () => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const { c, ms } = compileDir({ 'teams/netops/bomb.yaml': levels.join('\n') + '\n' });
  const f = only(c, 'teams/netops/bomb.yaml');
  assert.equal(f.ruleId, 'yaml-syntax');
  assert.match(f.message, /alias expansion exceeds the limit/);
  assert.ok(f.start.line >= 1 && f.start.column >= 1);
  assert.ok(ms < 1000, `alias bomb took ${ms} ms`);
});

test('duplicate keys are refused at the second key', () => {
  const { c } = compileDir({ 'teams/netops/dup.yaml': 'team: netops\nshard: networking\nshard: storage\njobs: []\n' });
  const f = only(c, 'teams/netops/dup.yaml');
  assert.equal(f.ruleId, 'yaml-syntax');
  assert.match(f.message, /duplicate key/);
  assert.equal(f.start.line, 3);
});

test('duplicate keys are refused in files using anchors too', () => {
  const { c } = compileDir({ 'teams/netops/dup.yaml': 'team: netops\nshard: &s networking\nshard: *s\njobs: []\n' });
  const f = only(c, 'teams/netops/dup.yaml');
  assert.match(f.message, /duplicate key/);
  assert.equal(f.start.line, 3);
});

test('a file that is not UTF-8 is refused at the first bad byte', () => {
  const latin1 = Buffer.from('team: netops\ndescription: caf\xe9\n', 'latin1');
  const { c } = compileDir({ 'teams/netops/latin1.yaml': latin1 });
  const f = only(c, 'teams/netops/latin1.yaml');
  assert.equal(f.ruleId, 'file-unreadable');
  assert.match(f.message, /not valid UTF-8/);
  assert.deepEqual(f.start, { line: 2, column: 17 });
});

test('a binary file (NUL bytes) is refused', () => {
  const { c } = compileDir({ 'teams/netops/bin.yaml': Buffer.from([0x74, 0x65, 0x61, 0x6d, 0x0a, 0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]) });
  const f = only(c, 'teams/netops/bin.yaml');
  assert.equal(f.ruleId, 'file-unreadable');
  assert.match(f.message, /NUL bytes/);
  assert.deepEqual(f.start, { line: 2, column: 5 });
});

test('a symbolic link leaving the repository is refused, and its target is not read', () => {
  const outside = mkdtempSync(join(tmpdir(), 'promshard-outside-'));
  roots.push(outside);
  const secret = join(outside, 'secret.yaml');
  writeFileSync(secret, 'team: netops\nshard: networking\njobs:\n  - name: stolen\n    targets: [stolen:1]\n');
  const { c } = compileDir({}, (root) => symlinkSync(secret, join(root, 'teams/netops/link.yaml')));
  const f = only(c, 'teams/netops/link.yaml');
  assert.equal(f.ruleId, 'file-unreadable');
  assert.match(f.message, /symbolic link leaves the repository/);
  assert.deepEqual(f.start, { line: 1, column: 1 });
  assert.ok(!c.model!.shards.some((s) => s.jobs.some((j) => j.name === 'stolen')));
});

test('several YAML documents in one file are refused', () => {
  const { c } = compileDir({ 'teams/netops/multi.yaml': GOOD.replace('good', 'one') + '---\n' + GOOD.replace('good', 'two') });
  const f = only(c, 'teams/netops/multi.yaml');
  assert.equal(f.ruleId, 'yaml-syntax');
  assert.match(f.message, /several YAML documents/);
  assert.ok(f.start.line >= 1);
});

test('absurdly deep nesting is refused without crashing the compiler', () => {
  const deep = 'team: netops\nshard: networking\njobs: ' + '['.repeat(20000) + ']'.repeat(20000) + '\n';
  const { c, ms } = compileDir({ 'teams/netops/deep.yaml': deep });
  const f = c.findings.filter((x) => x.file === 'teams/netops/deep.yaml');
  assert.ok(f.length >= 1, 'deep nesting must produce a finding');
  assert.equal(c.valid, false);
  assert.ok(ms < 2000, `${ms} ms`);
});
