// Rules read untrusted data: a value of the wrong type anywhere must give schema findings, never an
// "internal error in rule" (which would hide the real problem behind a crash report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';

const WEIRD = ['null', '42', 'true', '"text"', '[]', '[1, null, [2]]', '{}', '{ a: { b: 1 } }'];
const TEAM_SLOTS = [
  'team: X\nshard: networking\njobs: [{ name: a, targets: [n:1] }]\n',
  'team: netops\nshard: X\njobs: [{ name: a, targets: [n:1] }]\n',
  'team: netops\nshard: networking\njobs: X\n',
  'team: netops\nshard: networking\njobs: [X]\n',
  'team: netops\nshard: networking\njobs: [{ name: X, targets: [n:1] }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [X] }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, target_groups: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, target_groups: [X] }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, target_groups: [{ targets: [n:1], labels: X }] }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], labels: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], interval: X, timeout: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], limits: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], limits: { sample_limit: X } }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], relabel_configs: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], relabel_configs: [X] }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], metric_relabel_configs: [{ source_labels: X, regex: X, action: X, target_label: X, modulus: X, replacement: X, separator: X }] }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, discovery: X }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, discovery: { dns: X } }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, discovery: { dns: { names: [x], refresh_interval: X } } }]\n',
  'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], basic_auth: X, authorization: X, tls: X, scheme: X, params: X, metrics_path: X }]\n',
];
const SHARD_SLOTS = [
  'defaults: X\nshards: [{ name: networking, budget: { max_series: 1, max_targets: 1 } }]\n',
  'defaults: { interval: X, timeout: X, limits: X, max_limits: X }\nshards: [{ name: networking, budget: { max_series: 1, max_targets: 1 } }]\n',
  'shards: X\n',
  'shards: [X]\n',
  'shards: [{ name: X, budget: X }]\n',
  'shards: [{ name: networking, budget: { max_series: X, max_targets: X }, external_labels: X, limits: X, max_limits: { sample_limit: X }, interval: X, timeout: X }]\n',
];

test('no rule crashes on a value of the wrong type in a team file', () => {
  for (const slot of TEAM_SLOTS) {
    for (const w of WEIRD) {
      const c = compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': slot.replaceAll('X', w) });
      const crash = c.findings.find((f) => f.message.startsWith('internal error'));
      assert.equal(crash, undefined, `${slot.replaceAll('X', w)}: ${crash?.message}`);
    }
  }
});

test('no rule crashes on a value of the wrong type in shards.yaml', () => {
  const teamFile = 'team: netops\nshard: networking\njobs: [{ name: a, targets: [n:1], limits: { sample_limit: 5 }, timeout: 5s }]\n';
  for (const slot of SHARD_SLOTS) {
    for (const w of WEIRD) {
      const c = compileFiles({ 'shards.yaml': slot.replaceAll('X', w), 'teams/netops/a.yaml': teamFile });
      const crash = c.findings.find((f) => f.message.startsWith('internal error'));
      assert.equal(crash, undefined, `${slot.replaceAll('X', w)}: ${crash?.message}`);
    }
  }
});

test('an empty file and a file holding only a scalar do not crash any rule', () => {
  for (const text of ['', '# nothing\n', '42\n', '[1, 2]\n', '~\n']) {
    const c = compileFiles({ 'shards.yaml': text, 'teams/netops/a.yaml': text });
    assert.equal(c.findings.find((f) => f.message.startsWith('internal error')), undefined, JSON.stringify(text));
    assert.equal(c.valid, false);
  }
});
