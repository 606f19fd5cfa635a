import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, teamFindings, team, findingsOf } from './helpers.ts';

test('duplicate-target: docs examples (error within a job, warning across jobs of a shard)', () => {
  assertDocExamples('duplicate-target', [
    { line: 9, column: 9, includes: 'target "dhcp1.nyc3.internal:9100" is listed twice in job "dhcp" (first at teams/netops/main.yaml:7:9)' },
    { severity: 'warning', line: 11, column: 15, includes: 'is also scraped by job "dhcp" on shard "networking" (teams/netops/main.yaml:8:9)' },
  ]);
});

test('duplicate-target: across targets and target_groups of one job, case-insensitively', () => {
  const f = teamFindings('duplicate-target', team('  - name: a\n    targets: [Node1:1]\n    target_groups: [{ targets: [node1:1], labels: { x: y } }]\n'));
  assert.equal(f.length, 1);
  assert.equal(f[0].severity, 'error');
});

test('duplicate-target: a different metrics_path is a different scrape', () => {
  assert.deepEqual(teamFindings('duplicate-target', team('  - name: a\n    targets: [n:1]\n  - name: b\n    metrics_path: /probe\n    targets: [n:1]\n')), []);
});

test('duplicate-target: the same target on two shards is fine; on one shard across files it warns with a related place', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/netops/a.yaml': team('  - name: a\n    targets: [n:1]\n'),
    'teams/storage/b.yaml': 'team: storage\nshard: storage\njobs:\n  - name: b\n    targets: [n:1]\n',
    'teams/storage/c.yaml': 'team: storage\nshard: storage\njobs:\n  - name: c\n    targets: [n:1]\n',
  });
  const f = findingsOf(c, 'duplicate-target');
  assert.equal(f.length, 1);
  assert.equal(f[0].file, 'teams/storage/c.yaml');
  assert.equal(f[0].severity, 'warning');
  assert.deepEqual(f[0].related?.[0].file, 'teams/storage/b.yaml');
  assert.equal(c.valid, true);
});
