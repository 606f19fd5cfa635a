import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, findingsOf, team } from './helpers.ts';

test('duplicate-job: docs examples', () => {
  assertDocExamples('duplicate-job', [{ file: 'teams/storage/main.yaml', line: 5, column: 11, includes: 'job name "dhcp" is already used at teams/netops/main.yaml:5:11' }]);
});

test('duplicate-job: every later duplicate is reported, each naming the first, with a related location', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/netops/a.yaml': team('  - name: x\n    targets: [a:1]\n  - name: x\n    targets: [b:1]\n'),
    'teams/netops/b.yaml': team('  - name: y\n    targets: [c:1]\n  - name: x\n    targets: [d:1]\n'),
  });
  const f = findingsOf(c, 'duplicate-job');
  assert.equal(f.length, 2);
  for (const x of f) {
    assert.match(x.message, /already used at teams\/netops\/a\.yaml:4:11$/);
    assert.deepEqual(x.related?.[0], { file: 'teams/netops/a.yaml', start: { line: 4, column: 11 }, message: 'first definition of job "x"' });
  }
  assert.deepEqual(f.map((x) => `${x.file}:${x.start.line}`), ['teams/netops/a.yaml:6', 'teams/netops/b.yaml:6']);
});
