import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

test('schema: docs examples', () => {
  assertDocExamples('schema', [{ line: 6, column: 14, includes: 'jobs[0].targets must be a list, not the string' }]);
});

test('schema: missing required key and enum', () => {
  const f = teamFindings('schema', 'team: netops\njobs:\n  - name: a\n    targets: [a:1]\n    scheme: HTTPS\n');
  assert.ok(f.some((x) => x.message.includes('missing the required key "shard"')));
  assert.ok(f.some((x) => x.message.includes('must be one of "http", "https"')));
});

test('schema: basic_auth with an inline password leaves the missing password_file to no-inline-secrets', () => {
  const f = teamFindings('schema', team('  - name: a\n    scheme: https\n    targets: [a:1]\n    basic_auth: { username: u, password: p }\n'));
  assert.deepEqual(f, []);
});
