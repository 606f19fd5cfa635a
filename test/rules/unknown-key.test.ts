import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

test('unknown-key: docs examples', () => {
  assertDocExamples('unknown-key', [{ line: 7, column: 5, includes: ['unknown key "intervall"', 'did you mean "interval"'] }]);
});

test('unknown-key: inline secret keys are left to no-inline-secrets', () => {
  assert.deepEqual(teamFindings('unknown-key', team('  - name: a\n    targets: [a:1]\n    bearer_token: x\n')), []);
});
