import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, findingsOf, assertFinding, team } from './helpers.ts';

test('file-layout: docs examples', () => {
  assertDocExamples('file-layout', [{ file: 'teams/main.yaml', line: 1, column: 1, includes: '"teams/main.yaml" is not read' }]);
});

test('file-layout: a team file nested too deep is not read', () => {
  const c = compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/sub/x.yaml': team('  - name: a\n    targets: [a:1]\n') });
  assertFinding(findingsOf(c, 'file-layout')[0], { ruleId: 'file-layout', line: 1, column: 1, includes: 'teams/<team>/' });
});

test('file-layout: a missing shards.yaml is reported', () => {
  const c = compileFiles({ 'teams/netops/x.yaml': team('  - name: a\n    targets: [a:1]\n') });
  const f = findingsOf(c, 'file-layout');
  assert.equal(f.length, 1);
  assert.equal(f[0].file, 'shards.yaml');
  assert.match(f[0].message, /shards\.yaml is missing/);
});
