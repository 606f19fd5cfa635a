import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings } from './helpers.ts';

test('unknown-shard: docs examples', () => {
  assertDocExamples('unknown-shard', [{ line: 3, column: 8, includes: ['shard "netwrking" is not declared', 'did you mean "networking"'] }]);
});

test('unknown-shard: no close match lists the declared shards', () => {
  const f = teamFindings('unknown-shard', 'team: netops\nshard: compute\njobs:\n  - name: a\n    targets: [a:1]\n');
  assert.equal(f.length, 1);
  assert.doesNotMatch(f[0].message, /did you mean/);
  assert.match(f[0].hint ?? '', /declared shards: networking, storage/);
});

test('unknown-shard: a non-string shard is left to schema', () => {
  assert.deepEqual(teamFindings('unknown-shard', 'team: netops\nshard: [x]\njobs:\n  - name: a\n    targets: [a:1]\n'), []);
});
