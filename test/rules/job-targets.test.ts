import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team, assertFinding } from './helpers.ts';

test('job-targets: docs examples', () => {
  assertDocExamples('job-targets', [{ line: 5, column: 11, includes: 'job "dhcp" has no targets' }]);
});

test('job-targets: static targets and discovery at once are refused, saying why', () => {
  const f = teamFindings('job-targets', team('  - name: a\n    targets: [a:1]\n    discovery:\n      dns: { names: [_x._tcp.example.org] }\n'));
  assertFinding(f[0], { ruleId: 'job-targets', line: 6, column: 5, includes: ['both targets and discovery', 'static targets would be ignored'] });
});

test('job-targets: targets and target_groups may be combined', () => {
  assert.deepEqual(teamFindings('job-targets', team('  - name: a\n    targets: [a:1]\n    target_groups: [{ targets: [b:1] }]\n')), []);
});

test('job-targets: discovery alone is fine', () => {
  assert.deepEqual(teamFindings('job-targets', team('  - name: a\n    discovery:\n      kubernetes: { role: pod }\n')), []);
});
