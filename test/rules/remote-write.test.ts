// Rule remote-write: shards.yaml's remote_write endpoints, each problem at its file:line:col.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, findingsOf } from './helpers.ts';
import { compileFiles } from '../support/repo-fixture.ts';

const RULE = 'remote-write';
const shard = (extra = '') => `shards:\n  - name: networking\n    budget: { max_series: 100000, max_targets: 100 }\n${extra}`;

function run(text: string) {
  const c = compileFiles({ 'shards.yaml': text });
  return { c, f: findingsOf(c, RULE).map((x) => `${x.start.line}:${x.start.column} ${x.message}`) };
}

test('remote-write: docs examples', () => {
  assertDocExamples(RULE, [
    { file: 'shards.yaml', line: 4, column: 10, includes: 'url carries user:password credentials' },
    { file: 'shards.yaml', line: 5, column: 38, includes: 'header "X-Api-Token" looks like a credential' },
    { file: 'shards.yaml', line: 8, column: 22, includes: ['/etc/prometheus/secrets/observability/', 'basic_auth.password_file "/etc/prometheus/secrets/netops/mimir.password" is outside it'] },
    { file: 'shards.yaml', line: 12, column: 24, includes: 'promshard sets external label "replica" itself' },
  ]);
});

test('remote-write: url scheme, host, durations, backoff and shard order, reserved header, duplicate names', () => {
  const { f } = run(`remote_write:
  - name: a
    url: ftp://store.example.org/push
  - name: a
    url: /api/v1/push
    remote_timeout: 30
  - name: b
    url: https://store.example.org/push
    remote_timeout: 1x
    headers: { Content-Type: text/plain }
    queue_config: { min_backoff: 5s, max_backoff: 1s, min_shards: 4, max_shards: 2, batch_send_deadline: 0s }
${shard()}`);
  assert.deepEqual(f.map((l) => l.slice(0, 90)), [
    '3:10 fleet remote_write "a": url scheme "ftp" is not http or https',
    '4:11 fleet remote_write "a": name "a" is used twice in the same remote_write list',
    '5:10 fleet remote_write "a": url "/api/v1/push" is not an absolute URL',
    '9:21 fleet remote_write "b": remote_timeout: "1x" is not a Prometheus duration',
    '10:16 fleet remote_write "b": header "Content-Type" is reserved: Prometheus refuses to loa',
    '11:34 fleet remote_write "b": min_backoff "5s" is longer than max_backoff "1s"',
    '11:67 fleet remote_write "b": min_shards 4 is above max_shards 2',
    '11:106 fleet remote_write "b": batch_send_deadline: duration "0s" must be greater than zer',
  ]);
});

test('remote-write: a shard override is checked too; secrets_root and observability_team move the allowed directory', () => {
  const { f, c } = run(`secrets_root: /srv/secrets
observability_team: o11y
shards:
  - name: networking
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { env: "prod-$HOST" }
    remote_write:
      - url: https://store.example.org/push
        tls_config: { ca_file: /srv/secrets/o11y/ca.pem, cert_file: /srv/secrets/observability/c.pem }
`);
  assert.equal(f.length, 2, f.join('\n'));
  assert.match(f[1], /^9:69 shard "networking" remote_write #1: .*\/srv\/secrets\/o11y\/, and tls_config.cert_file "\/srv\/secrets\/observability\/c.pem" is outside it$/);
  assert.match(f[0], /^6:29 shard "networking" remote-writes, so its Prometheus runs with expand-external-labels/);
  assert.equal(c.valid, false);
});

test('remote-write: a valid endpoint, and a shard that opts out with [] may use $ and identity names freely', () => {
  const { f, c } = run(`remote_write:
  - name: global
    url: https://store.example.org/api/v1/push
    remote_timeout: 30s
    headers: { X-Scope-OrgID: fleet }
    queue_config: { capacity: 2500, max_shards: 50, min_shards: 1, max_samples_per_send: 500, batch_send_deadline: 5s, min_backoff: 30ms, max_backoff: 5s, retry_on_http_429: true }
    authorization: { credentials_file: /etc/prometheus/secrets/observability/store.token }
shards:
  - name: networking
    budget: { max_series: 100000, max_targets: 100 }
  - name: storage
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { replica: x, env: "$x" }
    remote_write: []
`);
  assert.deepEqual(f, []);
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  assert.equal(c.model!.shards[0].remoteWrite!.length, 1);
  assert.deepEqual(c.model!.shards[1].remoteWrite, []);
});

test('remote-write: write_relabel_configs go through relabel-config and relabel-regex with the endpoint named', () => {
  const c = compileFiles({ 'shards.yaml': `remote_write:\n  - name: global\n    url: https://s.example.org/push\n    write_relabel_configs:\n      - action: replace\n      - regex: "(?=x)"\n        action: drop\n        source_labels: [__name__]\n${shard()}` });
  const msgs = c.findings.filter((x) => x.ruleId === 'relabel-config' || x.ruleId === 'relabel-regex').map((x) => `${x.ruleId} ${x.start.line}:${x.start.column} ${x.message}`);
  assert.equal(msgs.length, 2, msgs.join('\n'));
  assert.match(msgs[0], /^relabel-config 5:9 write_relabel_configs\[0\] of remote_write "global": action replace requires target_label/);
  assert.match(msgs[1], /^relabel-regex 6:16 write_relabel_configs\[1\] of remote_write "global": regex/);
});
