import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, teamFindings, team, findingsOf } from './helpers.ts';

const RULE = 'timeout-exceeds-interval';

test('timeout-exceeds-interval: docs examples', () => {
  assertDocExamples(RULE, [{ line: 8, column: 14, includes: 'job "dhcp" timeout "20s" exceeds its interval "15s"' }]);
});

test('timeout-exceeds-interval: a job timeout against the inherited interval', () => {
  const f = teamFindings(RULE, team('  - name: a\n    targets: [n:1]\n    timeout: 45s\n'));
  assert.equal(f.length, 1);
  assert.match(f[0].message, /exceeds its interval "30s" \(shard "networking"'s interval\)/);
});

test('timeout-exceeds-interval: an inherited timeout is capped at the job interval, not reported', () => {
  assert.deepEqual(teamFindings(RULE, team('  - name: a\n    targets: [n:1]\n    interval: 5s\n')), []);
});

test('timeout-exceeds-interval: shards and defaults', () => {
  const shards = 'defaults:\n  interval: 10s\n  timeout: 20s\nshards:\n  - name: a\n    interval: 1m\n    budget: { max_series: 1, max_targets: 1 }\n  - name: b\n    timeout: 1m\n    interval: 30s\n    budget: { max_series: 1, max_targets: 1 }\n  - name: c\n    budget: { max_series: 1, max_targets: 1 }\n';
  const f = findingsOf(compileFiles({ 'shards.yaml': shards }), RULE);
  assert.deepEqual(f.map((x) => `${x.start.line}: ${x.message}`), [
    '3: defaults timeout "20s" exceeds defaults interval "10s"',
    '9: shard "b" timeout "1m" exceeds its interval "30s"',
  ]);
});

test('timeout-exceeds-interval: a shard interval below the default timeout', () => {
  const shards = BASIC_SHARDS_YAML.replace('  - name: storage\n', '  - name: storage\n    interval: 5s\n');
  const f = findingsOf(compileFiles({ 'shards.yaml': shards }), RULE);
  assert.equal(f.length, 1);
  assert.equal(f[0].message, 'shard "storage" timeout "10s" (from defaults) exceeds its interval "5s"');
});
