import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles } from '../support/repo-fixture.ts';
import { assertDocExamples, teamFindings, team, findingsOf } from './helpers.ts';
import { durationProblem } from '../../ci/rules/duration.ts';

test('duration: docs examples', () => {
  assertDocExamples('duration', [{ line: 7, column: 15, includes: 'job "dhcp" interval: "1.5m" is not a Prometheus duration' }]);
});

test('duration: hints guess the intended value', () => {
  assert.equal(durationProblem('30')?.hint, 'write 30s');
  assert.equal(durationProblem('1m 30s')?.hint, 'write 1m30s');
  assert.equal(durationProblem('30S')?.hint, 'write 30s');
  assert.equal(durationProblem('0.5s')?.hint, 'write 500ms');
  assert.match(durationProblem('0')?.message ?? '', /greater than zero/);
  assert.match(durationProblem('999999999y')?.message ?? '', /out of range/);
  for (const ok of ['15s', '1m30s', '500ms', '1h', '2d', '1w']) assert.equal(durationProblem(ok), undefined, ok);
});

test('duration: dns refresh_interval and job timeout', () => {
  const f = teamFindings('duration', team('  - name: a\n    timeout: 10 s\n    discovery:\n      dns: { names: [x.example.org], refresh_interval: 0s }\n'));
  assert.deepEqual(f.map((x) => x.start.line), [5, 7]);
  assert.match(f[1].message, /discovery.dns refresh_interval: duration "0s" must be greater than zero/);
});

test('duration: shards.yaml defaults and shards', () => {
  const c = compileFiles({
    'shards.yaml': 'defaults:\n  evaluation_interval: 1min\nshards:\n  - name: networking\n    interval: 1.5m\n    budget: { max_series: 1, max_targets: 1 }\n',
  });
  const f = findingsOf(c, 'duration');
  assert.deepEqual(f.map((x) => [x.start.line, x.message.split(':')[0]]), [[2, 'defaults evaluation_interval'], [5, 'shard "networking" interval']]);
  assert.equal(f[0].hint, 'write 1m');
});
