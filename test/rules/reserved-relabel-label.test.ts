import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

test('reserved-relabel-label: docs examples', () => {
  assertDocExamples('reserved-relabel-label', [{ line: 9, column: 23, includes: 'reserved for promshard' }]);
});

test('reserved-relabel-label: a source label and a metric relabel rule are caught too, each at its own place', () => {
  const f = teamFindings(
    'reserved-relabel-label',
    team('  - name: a\n    targets: [n:1]\n    relabel_configs:\n      - { source_labels: [job, __tmp_promshard_hash], regex: "0", action: keep }\n    metric_relabel_configs:\n      - { source_labels: [__name__], target_label: __tmp_promshard_x }\n'),
  );
  assert.deepEqual(f.map((x) => x.message.split(':')[0]), ['relabel_configs[0] of job "a"', 'metric_relabel_configs[0] of job "a"']);
  assert.equal(f[0]!.start.line, 7);
});

test('reserved-relabel-label: labels of a team\'s own (__tmp_<team>_*) and other __tmp_ labels are fine', () => {
  const f = teamFindings('reserved-relabel-label', team('  - name: a\n    targets: [n:1]\n    relabel_configs:\n      - { source_labels: [__tmp_promshar], target_label: __tmp_netops_x }\n'));
  assert.deepEqual(f, []);
});
