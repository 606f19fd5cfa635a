// The documented example (a NUL byte) cannot be written in Markdown; it is run here, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { findingsOf } from './helpers.ts';
import { fixedExample, formatFinding, readRulesDoc } from './docs-examples.ts';

function compileBytes(path: string, bytes: Buffer) {
  return compileRepository({ origin: 'memory', files: [{ path: 'shards.yaml', bytes: Buffer.from(BASIC_SHARDS_YAML) }, { path, bytes }] }, { rules: ALL_RULES });
}

test('file-unreadable: the documented failing example prints the documented finding', () => {
  const c = compileBytes('teams/netops/main.yaml', Buffer.from('team: netops\0\n'));
  const expected = readRulesDoc().sections.get('file-unreadable')!.blocks.find((b) => b.tags.includes('finding'))!.text.trimEnd();
  assert.equal(c.findings.map(formatFinding).join('\n'), expected);
  assert.equal(c.valid, false);
});

test('file-unreadable: the fixed example is clean', () => {
  const ex = fixedExample('file-unreadable');
  assert.deepEqual(findingsOf(ex.compilation, 'file-unreadable'), []);
  assert.equal(ex.compilation.valid, true);
});

test('file-unreadable: invalid UTF-8 is located at the bad byte', () => {
  const c = compileBytes('teams/netops/main.yaml', Buffer.concat([Buffer.from('team: net'), Buffer.from([0xff, 0xfe]), Buffer.from('ops\n')]));
  const f = findingsOf(c, 'file-unreadable');
  assert.equal(f.length, 1);
  assert.match(f[0].message, /not valid UTF-8/);
  assert.deepEqual(f[0].start, { line: 1, column: 10 });
});
