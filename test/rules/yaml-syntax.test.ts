import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings } from './helpers.ts';

test('yaml-syntax: docs examples', () => {
  assertDocExamples('yaml-syntax', [{ line: 8, column: 5, includes: 'duplicate key' }]);
});

test('yaml-syntax: unclosed flow sequence', () => {
  const f = teamFindings('yaml-syntax', 'team: netops\nshard: networking\njobs:\n  - name: a\n    targets: [a:1\n');
  assert.equal(f.length, 1);
  assert.match(f[0].message, /^YAML: /);
});

test('yaml-syntax: several documents are refused', () => {
  const f = teamFindings('yaml-syntax', 'team: netops\n---\nteam: netops\n');
  assert.equal(f.length, 1);
  assert.match(f[0].message, /several YAML documents/);
});
