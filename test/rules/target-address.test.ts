import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';
import { checkTargetAddress } from '../../ci/rules/target-address.ts';

test('target-address: docs examples', () => {
  assertDocExamples('target-address', [{ line: 6, column: 15, includes: 'is a URL; targets are host:port' }]);
});

test('target-address: the URL hint names the target and the job keys', () => {
  const f = teamFindings('target-address', team('  - name: a\n    targets: ["http://a:9100/metrics"]\n'));
  assert.equal(f[0].hint, 'list "a:9100" as the target and set metrics_path: /metrics on the job');
});

test('target-address: valid addresses pass', () => {
  for (const a of ['node1.internal:9100', '10.0.0.1:9100', '[::1]:9100', '[2001:db8::1]:1', 'host_1:65535', 'a.b.c.:80']) assert.equal(checkTargetAddress(a), undefined, a);
});

test('target-address: invalid addresses are explained', () => {
  const cases: [string, RegExp][] = [
    ['', /target is empty/],
    ['node1:9100 ', /contains whitespace/],
    ['node1', /has no port/],
    ['node1:0', /port 0 is out of range/],
    ['node1:65536', /port 65536 is out of range/],
    ['node1:http', /port "http" is not a number/],
    ['node1:9100/metrics', /has a path/],
    ['node1:9100?module=x', /has a query/],
    ['::1', /IPv6 address without brackets/],
    ['2001:db8::1:9100', /IPv6/],
    ['[::1]', /has no port/],
    ['[node1]:9100', /not an IPv6 address/],
    ['999.0.0.1:9100', /not a valid host name/],
    ['no!de:9100', /not a valid host name/],
  ];
  for (const [a, re] of cases) assert.match(checkTargetAddress(a)?.message ?? 'accepted', re, a);
});

test('target-address: credentials in a URL are never repeated', () => {
  const f = teamFindings('target-address', team('  - name: a\n    targets: ["https://scraper:s3cr3t@a:9100/m"]\n'));
  assert.equal(f.length, 1);
  assert.doesNotMatch(f[0].message + (f[0].hint ?? ''), /s3cr3t|scraper/);
  assert.match(f[0].hint ?? '', /scheme: https/);
  assert.match(f[0].hint ?? '', /basic_auth/);
});

test('target-address: target group targets are checked too', () => {
  const f = teamFindings('target-address', team('  - name: a\n    target_groups:\n      - targets: [ok:1, "bad"]\n'));
  assert.equal(f.length, 1);
  assert.deepEqual(f[0].start, { line: 6, column: 25 });
});
