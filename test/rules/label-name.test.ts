import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, teamFindings, team, findingsOf, assertFinding } from './helpers.ts';

test('label-name: docs examples', () => {
  assertDocExamples('label-name', [
    { line: 8, column: 7, includes: 'label "team" in the labels of job "dhcp" is reserved' },
    { line: 9, column: 7, includes: 'label name "service-name" in the labels of job "dhcp" is invalid' },
  ]);
});

test('label-name: job, instance and __ names are reserved in target groups; the hint points at the job key', () => {
  const f = teamFindings('label-name', team('  - name: a\n    target_groups:\n      - targets: [n:1]\n        labels: { job: x, instance: y, __metrics_path__: /m, 1abc: z, ok_name: w }\n'));
  assert.deepEqual(f.map((x) => x.message.split(' in ')[0]), ['label "job"', 'label "instance"', 'label "__metrics_path__"', 'label name "1abc"']);
  assert.equal(f[2].hint, 'set metrics_path on the job instead');
  assert.equal(f[3].hint, 'write "_1abc"');
});

test('label-name: shard external_labels', () => {
  const shards = BASIC_SHARDS_YAML.replace('external_labels: { shard: networking }', 'external_labels: { shard: networking, team: obs }');
  const c = compileFiles({ 'shards.yaml': shards, 'teams/netops/a.yaml': team('  - name: a\n    targets: [n:1]\n') });
  assertFinding(findingsOf(c, 'label-name')[0], { ruleId: 'label-name', file: 'shards.yaml', line: 10, column: 43, includes: 'external_labels of shard "networking"' });
});

test('label-name: names like Object.prototype members are ordinary labels', () => {
  assert.deepEqual(teamFindings('label-name', team('  - name: a\n    targets: [n:1]\n    labels: { constructor: x, toString: y, hasOwnProperty: z }\n')), []);
});
