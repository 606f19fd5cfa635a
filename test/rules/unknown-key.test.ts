import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

test('unknown-key: docs examples', () => {
  assertDocExamples('unknown-key', [{ line: 7, column: 5, includes: ['unknown key "intervall"', 'did you mean "interval"'] }]);
});

test('unknown-key: inline secret keys are left to no-inline-secrets', () => {
  assert.deepEqual(teamFindings('unknown-key', team('  - name: a\n    targets: [a:1]\n    bearer_token: x\n')), []);
});

test('unknown-key: keys named like Object.prototype members are still reported', () => {
  const f = teamFindings('unknown-key', team('  - name: a\n    targets: [n:1]\n    constructor: x\n    toString: y\n'));
  assert.deepEqual(f.map((x) => x.message.split(' in ')[0]), ['unknown key "constructor"', 'unknown key "toString"']);
});
