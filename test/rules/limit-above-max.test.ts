import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, teamFindings, team, findingsOf } from './helpers.ts';

const RULE = 'limit-above-max';

test('limit-above-max: docs examples', () => {
  assertDocExamples(RULE, [{ line: 7, column: 29, includes: 'job "dhcp" sample_limit 80000 is above the maximum 50000 allowed on shard "networking" (defaults.max_limits)' }]);
});

test('limit-above-max: 0 means no limit and is above any maximum', () => {
  const f = teamFindings(RULE, team('  - name: a\n    targets: [n:1]\n    limits: { label_limit: 0 }\n'));
  assert.equal(f.length, 1);
  assert.match(f[0].message, /label_limit 0 \(no limit\) is above the maximum 60/);
});

test("limit-above-max: the shard's max_limits win key by key", () => {
  const shards = BASIC_SHARDS_YAML.replace('    external_labels: { shard: networking }\n', '    external_labels: { shard: networking }\n    max_limits: { sample_limit: 200000 }\n');
  const c = compileFiles({ 'shards.yaml': shards, 'teams/netops/a.yaml': team('  - name: a\n    targets: [n:1]\n    limits: { sample_limit: 150000, label_limit: 61 }\n') });
  const f = findingsOf(c, RULE);
  assert.equal(f.length, 1);
  assert.match(f[0].message, /label_limit 61 is above the maximum 60/);
});

test('limit-above-max: limits handed down by shards.yaml', () => {
  const shards = BASIC_SHARDS_YAML.replace('    external_labels: { shard: networking }\n', '    external_labels: { shard: networking }\n    limits: { sample_limit: 60000 }\n  - name: small\n    max_limits: { label_limit: 10 }\n    budget: { max_series: 1, max_targets: 1 }\n');
  const f = findingsOf(compileFiles({ 'shards.yaml': shards }), RULE);
  assert.deepEqual(f.map((x) => x.message), [
    'shard "networking" limits sample_limit 60000 is above its maximum 50000 (defaults.max_limits)',
    'shard "small" max_limits label_limit 10 is below the 30 its jobs inherit from defaults.limits',
  ]);
});
