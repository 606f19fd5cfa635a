// What the agent expects Prometheus to have loaded from a remote-writing shard's file: the replica
// reference expanded to the agent's own replica, nothing else changed; remote_write URLs compared in
// order. The "loaded" texts are Prometheus 2.42's /api/v1/status/config output for such a file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedFingerprint } from '../../shard-agent/expected-config.ts';
import { fingerprintConfig, fingerprintDifference } from '../../shard-agent/config-fingerprint.ts';

const written = `global:
  scrape_interval: 30s
  external_labels:
    env: "a-$b"
    promshard_shard: networking
    replica: "\${PROMSHARD_REPLICA}"
remote_write:
  - url: http://store.example.org/api/v1/write
    name: global
scrape_configs: []
`;

const loaded = (replica: string, url = 'http://store.example.org/api/v1/write') => `global:
  scrape_interval: 30s
  scrape_timeout: 10s
  evaluation_interval: 1m
  external_labels:
    env: a-$b
    promshard_shard: networking
    replica: ${replica}
remote_write:
- url: ${url}
  remote_timeout: 30s
  name: global
  follow_redirects: true
  enable_http2: true
  queue_config:
    capacity: 2500
    max_shards: 200
`;

test('the replica reference is expanded to the agent replica only; other labels are compared as written', () => {
  const expected = expectedFingerprint(written, 'b');
  assert.deepEqual(expected.externalLabels, [['env', 'a-$b'], ['promshard_shard', 'networking'], ['replica', 'b']]);
  assert.equal(fingerprintDifference(expected, fingerprintConfig(loaded('b'))), undefined);
  assert.equal(fingerprintDifference(expected, fingerprintConfig(loaded('a'))), 'external_labels differ');
  // Without the feature Prometheus keeps the reference as text: not what the agent expects.
  assert.equal(fingerprintDifference(expected, fingerprintConfig(loaded('"${PROMSHARD_REPLICA}"'))), 'external_labels differ');
  // An agent without a replica name (library callers) compares the text as written.
  assert.deepEqual(expectedFingerprint(written, undefined).externalLabels[2], ['replica', '${PROMSHARD_REPLICA}']);
});

test('a Prometheus that writes somewhere else is not running the written file', () => {
  const expected = expectedFingerprint(written, 'b');
  assert.equal(fingerprintDifference(expected, fingerprintConfig(loaded('b', 'http://other.example.org/api/v1/write'))), 'remote_write differs (1 endpoint(s) in Prometheus, 1 in the written file)');
  assert.match(fingerprintDifference(expected, fingerprintConfig(loaded('b').replace(/remote_write:[\s\S]*/, ''))) ?? '', /^remote_write differs \(0 endpoint/);
});
