import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { readRepositoryFromDirectory } from '../../core/repository/repository-source.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { fileURLToPath } from 'node:url';
import { compareFindings } from '../../core/findings/finding.ts';

const EXAMPLE = fileURLToPath(new URL('../../scrape-configs', import.meta.url));

test('compiles shards → jobs → targets, each knowing its file and line', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/netops/dhcp.yaml': `team: netops
shard: networking
jobs:
  - name: dhcp
    interval: 15s
    labels: { service: dhcp }
    targets: ["hv1.nyc3.internal:9100", "hv2.nyc3.internal:9100"]
  - name: ntp
    target_groups:
      - targets: ["ntp1.internal:9100"]
        labels: { stratum: "1" }
`,
  });
  assert.deepEqual(c.findings, []);
  assert.equal(c.valid, true);
  const net = c.model!.shards.find((s) => s.name === 'networking')!;
  assert.deepEqual(net.jobs.map((j) => j.name), ['dhcp', 'ntp']);
  const dhcp = net.jobs[0];
  assert.equal(dhcp.team, 'netops');
  assert.deepEqual({ file: dhcp.source.file, line: dhcp.source.line }, { file: 'teams/netops/dhcp.yaml', line: 4 });
  assert.equal(dhcp.spec.interval, '15s');
  assert.equal(dhcp.spec.timeout, '10s', 'inherits the shard default timeout');
  assert.deepEqual(dhcp.spec.limits, { sample_limit: 10000, label_limit: 30 });
  assert.deepEqual(dhcp.targets.map((t) => [t.address, t.source.line, t.labels.service]), [
    ['hv1.nyc3.internal:9100', 7, 'dhcp'],
    ['hv2.nyc3.internal:9100', 7, 'dhcp'],
  ]);
  const ntp = net.jobs[1];
  assert.equal(ntp.spec.interval, '30s', 'shard default interval');
  assert.deepEqual(ntp.targets[0], { ...ntp.targets[0], address: 'ntp1.internal:9100', labels: { stratum: '1' } });
  assert.equal(ntp.targets[0].source.line, 10);
  assert.deepEqual(JSON.parse(JSON.stringify(ntp.source)), { file: 'teams/netops/dhcp.yaml', line: 8, column: 5 });
});

test('an inherited timeout longer than the job interval is capped at the interval', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/netops/fast.yaml': 'team: netops\nshard: networking\njobs:\n  - name: fast\n    interval: 5s\n    targets: ["a.internal:9100"]\n',
  });
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  assert.equal(c.model!.shards[0].jobs[0].spec.timeout, '5s');
});

test('cardinality thresholds layer builtin → defaults → shard → job', () => {
  const shards = BASIC_SHARDS_YAML.replace('defaults:\n', 'defaults:\n  cardinality: { max_label_values: 500 }\n').replace(
    '  - name: storage\n',
    '  - name: storage\n    cardinality: { max_value_ratio: 0.9 }\n',
  );
  const c = compileFiles({
    'shards.yaml': shards,
    'teams/store/a.yaml': 'team: store\nshard: storage\njobs:\n  - name: ceph\n    cardinality: { growth_cycles: 5 }\n    targets: ["ceph1.internal:9283"]\n',
  });
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  const job = c.model!.shards.find((s) => s.name === 'storage')!.jobs[0];
  assert.equal(job.cardinality.max_label_values, 500);
  assert.equal(job.cardinality.max_value_ratio, 0.9);
  assert.equal(job.cardinality.growth_cycles, 5);
  assert.equal(job.cardinality.enabled, true);
});

test('every finding at once: several problems in several files are all reported, sorted', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/b/x.yaml': 'team: b\nshard: networking\njobs:\n  - name: j1\n    intervall: 30s\n    targets: ["a.internal:1"]\n',
    'teams/a/y.yaml': 'team: a\nshard: networking\njobs:\n  - name: j2\n    scheme: ftp\n    targets: ["b.internal:1"]\n  - name: j3\n    timeout: 5\n    targets: ["c.internal:1"]\n',
  });
  assert.equal(c.valid, false);
  const where = c.findings.map((f) => `${f.file}:${f.start.line}:${f.start.column} ${f.ruleId}`);
  assert.ok(where.includes('teams/a/y.yaml:5:13 schema'), where.join('\n'));
  assert.ok(where.includes('teams/a/y.yaml:8:14 schema'), where.join('\n'));
  assert.ok(where.includes('teams/b/x.yaml:5:5 unknown-key'), where.join('\n'));
  assert.deepEqual(c.findings, [...c.findings].sort(compareFindings), 'findings come sorted by file, line, column');
  assert.ok(where.indexOf('teams/a/y.yaml:5:13 schema') < where.indexOf('teams/b/x.yaml:5:5 unknown-key'));
});

test('a missing shards.yaml is a finding, not a crash', () => {
  const c = compileFiles({ 'teams/a/x.yaml': 'team: a\nshard: s\njobs: []\n' });
  assert.equal(c.valid, false);
  assert.ok(c.findings.some((f) => f.ruleId === 'file-layout' && f.file === 'shards.yaml'));
});

test('a team file outside teams/<team>/ is reported with file-layout', () => {
  const c = compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/stray.yaml': 'team: a\n' });
  assert.ok(c.findings.some((f) => f.ruleId === 'file-layout' && f.file === 'teams/stray.yaml'));
});

test('the bundled example repository is valid', () => {
  const c = compileRepository(readRepositoryFromDirectory(EXAMPLE), { rules: ALL_RULES });
  assert.deepEqual(
    c.findings.filter((f) => f.severity === 'error').map((f) => `${f.file}:${f.start.line} ${f.ruleId} ${f.message}`),
    [],
  );
  assert.ok(c.model!.shards.length >= 4);
  assert.ok(new Set(c.model!.shards.flatMap((s) => s.jobs.map((j) => j.team))).size >= 6);
});
