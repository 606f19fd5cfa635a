// The TypeScript model (schemas/model.ts) and the JSON Schemas must describe the same keys. The key
// lists below are typed `Record<keyof T, true>`, so tsc fails if they miss or add a key of the type;
// the test fails if they differ from the schema. Together: neither side can drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import teamSchema from '../../schemas/team-file.schema.json' with { type: 'json' };
import shardsSchema from '../../schemas/shards.schema.json' with { type: 'json' };
import type * as M from '../../schemas/model.ts';

const keys = <T>(r: Record<keyof T, true>) => Object.keys(r).sort();
const props = (schema: unknown) => Object.keys((schema as { properties: object }).properties).sort();
const defs = teamSchema.$defs as Record<string, unknown>;

const pairs: [string, string[], unknown][] = [
  ['TeamFile', keys<M.TeamFile>({ team: true, shard: true, description: true, jobs: true }), teamSchema],
  [
    'Job',
    keys<M.Job>({
      name: true, description: true, targets: true, target_groups: true, discovery: true, labels: true, interval: true, timeout: true,
      metrics_path: true, scheme: true, params: true, honor_labels: true, limits: true, relabel_configs: true, metric_relabel_configs: true,
      tls: true, basic_auth: true, authorization: true, cardinality: true,
    }),
    defs.job,
  ],
  ['Limits', keys<M.Limits>({ sample_limit: true, label_limit: true, label_name_length_limit: true, label_value_length_limit: true, target_limit: true }), defs.limits],
  [
    'CardinalityThresholds',
    keys<M.CardinalityThresholds>({ max_label_values: true, max_value_ratio: true, max_series_per_job: true, max_churn_ratio: true, growth_cycles: true, enabled: true }),
    defs.cardinality,
  ],
  ['RelabelConfig', keys<M.RelabelConfig>({ source_labels: true, separator: true, regex: true, modulus: true, target_label: true, replacement: true, action: true }), defs.relabelConfig],
  ['TargetGroup', keys<M.TargetGroup>({ targets: true, labels: true }), defs.targetGroup],
  ['Discovery', keys<M.Discovery>({ dns: true, kubernetes: true }), defs.discovery],
  ['DnsDiscovery', keys<M.DnsDiscovery>({ names: true, type: true, port: true, refresh_interval: true }), defs.dns],
  ['KubernetesDiscovery', keys<M.KubernetesDiscovery>({ role: true, namespaces: true, label_selector: true, field_selector: true, api_server: true }), defs.kubernetes],
  ['TlsConfig', keys<M.TlsConfig>({ ca_file: true, cert_file: true, key_file: true, server_name: true, insecure_skip_verify: true }), defs.tls],
  ['BasicAuth', keys<M.BasicAuth>({ username: true, password_file: true }), defs.basicAuth],
  ['Authorization', keys<M.Authorization>({ type: true, credentials_file: true }), defs.authorization],
  ['ShardsFile', keys<M.ShardsFile>({ secrets_root: true, observability_team: true, remote_write: true, defaults: true, shards: true }), shardsSchema],
  [
    'ShardDefaults',
    keys<M.ShardDefaults>({ interval: true, timeout: true, evaluation_interval: true, limits: true, max_limits: true, cardinality: true }),
    shardsSchema.properties.defaults,
  ],
  [
    'Shard',
    keys<M.Shard>({ name: true, description: true, replicas: true, interval: true, timeout: true, limits: true, max_limits: true, budget: true, external_labels: true, cardinality: true, split: true, split_by: true, remote_write: true }),
    shardsSchema.properties.shards.items,
  ],
  [
    'RemoteWrite',
    keys<M.RemoteWrite>({
      name: true, url: true, remote_timeout: true, headers: true, queue_config: true, write_relabel_configs: true, basic_auth: true, authorization: true, tls_config: true,
    }),
    shardsSchema.$defs.remoteWrite,
  ],
  [
    'RemoteWriteQueue',
    keys<M.RemoteWriteQueue>({
      capacity: true, max_shards: true, min_shards: true, max_samples_per_send: true, batch_send_deadline: true, min_backoff: true, max_backoff: true, retry_on_http_429: true,
    }),
    shardsSchema.$defs.remoteWrite.properties.queue_config,
  ],
  ['Budget', keys<M.Budget>({ max_series: true, max_targets: true }), shardsSchema.properties.shards.items.properties.budget],
];

for (const [name, typeKeys, schema] of pairs) {
  test(`${name}: TypeScript keys equal the schema's properties`, () => {
    assert.deepEqual(typeKeys, props(schema));
  });
}

test('every schema property has a description (they double as editor help)', () => {
  const missing: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (n.properties) {
      for (const [k, v] of Object.entries(n.properties as Record<string, Record<string, unknown>>)) {
        if (typeof v.description !== 'string' || v.description.length < 5) missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    }
    for (const key of ['items', 'additionalProperties']) if (n[key]) walk(n[key], `${path}[]`);
    if (n.$defs) for (const [k, v] of Object.entries(n.$defs as object)) walk(v, `#${k}`);
  };
  walk(teamSchema, 'team');
  walk(shardsSchema, 'shards');
  assert.deepEqual(missing, []);
});

test('schemas refuse unknown keys everywhere (additionalProperties: false on every object with properties)', () => {
  const open: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (n.properties && n.additionalProperties !== false) open.push(path);
    for (const v of Object.values(n)) walk(v, path + '/');
  };
  walk(teamSchema, 'team');
  walk(shardsSchema, 'shards');
  assert.deepEqual(open, []);
});
