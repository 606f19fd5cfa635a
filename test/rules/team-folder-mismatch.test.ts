import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings } from './helpers.ts';

test('team-folder-mismatch: docs examples', () => {
  assertDocExamples('team-folder-mismatch', [{ line: 2, column: 7, includes: 'team "net-ops" does not match the folder teams/netops/' }]);
});

test('team-folder-mismatch: the hint offers both fixes', () => {
  const f = teamFindings('team-folder-mismatch', 'team: storage\nshard: storage\njobs:\n  - name: a\n    targets: [a:1]\n', 'teams/netops/s.yaml');
  assert.equal(f.length, 1);
  assert.equal(f[0].hint, 'write team: netops, or move the file to teams/storage/s.yaml');
});
