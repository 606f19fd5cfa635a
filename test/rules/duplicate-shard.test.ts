import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples } from './helpers.ts';
import { failingExample } from './docs-examples.ts';

test('duplicate-shard: docs examples', () => {
  assertDocExamples('duplicate-shard', [{ file: 'shards.yaml', line: 5, column: 11, includes: 'shard "networking" is already declared at shards.yaml:3:11' }]);
});

test('duplicate-shard: the first declaration is a related location', () => {
  const f = failingExample('duplicate-shard').compilation.findings.find((x) => x.ruleId === 'duplicate-shard')!;
  assert.deepEqual(f.related, [{ file: 'shards.yaml', start: { line: 3, column: 11 }, message: 'first declaration of shard "networking"' }]);
});
