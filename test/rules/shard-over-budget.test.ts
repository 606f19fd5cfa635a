import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles } from '../support/repo-fixture.ts';
import { assertDocExamples, findingsOf, team } from './helpers.ts';

test('shard-over-budget: docs examples', () => {
  assertDocExamples('shard-over-budget', [{ file: 'shards.yaml', line: 3, column: 5, includes: 'shard "networking" has 3 static targets, over its budget of 2' }]);
});

test('shard-over-budget: names the biggest files, counts target groups, ignores discovery', () => {
  const shards = 'shards:\n  - name: networking\n    budget: { max_series: 1, max_targets: 5 }\n';
  const files: Record<string, string> = { 'shards.yaml': shards };
  files['teams/netops/a.yaml'] = team('  - name: a\n    targets: [a:1, b:1]\n');
  files['teams/netops/b.yaml'] = team('  - name: b\n    target_groups: [{ targets: [c:1, d:1, e:1] }]\n');
  files['teams/netops/c.yaml'] = team('  - name: c\n    targets: [f:1]\n');
  files['teams/netops/d.yaml'] = team('  - name: d\n    targets: [g:1]\n');
  files['teams/netops/e.yaml'] = team('  - name: e\n    discovery: { kubernetes: { role: pod } }\n');
  const f = findingsOf(compileFiles(files), 'shard-over-budget');
  assert.equal(f.length, 1);
  assert.equal(
    f[0].message,
    'shard "networking" has 7 static targets, over its budget of 5 (budget.max_targets) by 2; most from teams/netops/b.yaml (3), teams/netops/a.yaml (2), teams/netops/c.yaml (1), and 1 more file(s)',
  );
  assert.deepEqual(f[0].related?.map((r) => r.file), ['teams/netops/b.yaml', 'teams/netops/a.yaml', 'teams/netops/c.yaml']);
});

test('shard-over-budget: at the budget is fine', () => {
  const c = compileFiles({ 'shards.yaml': 'shards:\n  - name: networking\n    budget: { max_series: 1, max_targets: 2 }\n', 'teams/netops/a.yaml': team('  - name: a\n    targets: [a:1, b:1]\n') });
  assert.deepEqual(findingsOf(c, 'shard-over-budget'), []);
});
