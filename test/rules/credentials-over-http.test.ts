import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

test('credentials-over-http: docs examples', () => {
  assertDocExamples('credentials-over-http', [{ severity: 'warning', line: 7, column: 5, includes: 'job "dhcp" sends basic_auth credentials over plain http (the default scheme)' }]);
});

test('credentials-over-http: explicit http with authorization warns; https does not', () => {
  const auth = '    authorization: { credentials_file: /f }\n';
  assert.equal(teamFindings('credentials-over-http', team(`  - name: a\n    scheme: http\n    targets: [n:1]\n${auth}`)).length, 1);
  assert.equal(teamFindings('credentials-over-http', team(`  - name: a\n    scheme: https\n    targets: [n:1]\n${auth}`)).length, 0);
});
