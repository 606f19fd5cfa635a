// The global view (issue 15 item 4), end to end with real Prometheus 2.42: shards.yaml's remote_write
// renders and passes promtool's full check (credential files that exist under a temp secrets_root);
// two replicas of a shard load the same document, remote-write to a real receiver
// (--web.enable-remote-write-receiver) and arrive there told apart by the replica label
// (expand-external-labels with PROMSHARD_REPLICA); the agent's reload proof passes for the right
// replica and fails for a Prometheus that runs under another replica's name or without the feature.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFiles } from '../support/repo-fixture.ts';
import { freePort, prometheusInstalled, PROMTOOL_BIN, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { renderPrometheusConfig } from '../../core/render/render-prometheus-config.ts';
import { buildDesiredDocument } from '../../core/document/desired-document.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { waitFor } from '../support/wait-for.ts';

const skip = prometheusInstalled() ? false : 'prometheus not installed';
const TOKEN = 'global-view-test-token-8c1e';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function shardsYaml(receiverUrl: string, secretsRoot: string): string {
  return `secrets_root: ${secretsRoot}
observability_team: observability
defaults: { interval: 1s, timeout: 1s }
remote_write:
  - name: global
    url: ${receiverUrl}/api/v1/write
    remote_timeout: 5s
    headers: { X-Scope-OrgID: fleet }
    queue_config: { batch_send_deadline: 1s, max_shards: 2, min_backoff: 100ms, max_backoff: 1s, retry_on_http_429: true }
    authorization: { credentials_file: ${secretsRoot}/observability/global.token }
    write_relabel_configs:
      - source_labels: [__name__]
        regex: "up|scrape_.*"
        action: keep
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { region: nyc3 }
  - name: storage
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    remote_write: []
`;
}

const teamFile = (target: string) => `team: netops
shard: networking
jobs:
  - name: receiver
    targets: ["${target}"]
`;

async function query(url: string, promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

test('remote_write renders, passes promtool, and the receiver gets both replicas told apart by the replica label', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-global-view-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const secretsRoot = join(dir, 'secrets');
  mkdirSync(join(secretsRoot, 'observability'), { recursive: true });
  writeFileSync(join(secretsRoot, 'observability', 'global.token'), 'not-a-real-token\n');

  const receiver = await startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] });
  cleanups.push(() => receiver.destroy());

  const c = compileFiles({ 'shards.yaml': shardsYaml(receiver.url, secretsRoot), 'teams/netops/main.yaml': teamFile(`127.0.0.1:${receiver.port}`) });
  assert.equal(c.valid, true, JSON.stringify(c.findings, null, 2));
  const networking = c.model!.shards.find((s) => s.name === 'networking')!;
  const storage = c.model!.shards.find((s) => s.name === 'storage')!;
  const config = renderPrometheusConfig(networking);
  assert.match(config, /remote_write:\n {2}- url: "?http:\/\/127\.0\.0\.1:\d+\/api\/v1\/write"?\n {4}name: global\n/);
  assert.match(config, /promshard_shard: networking\n/);
  assert.match(config, /replica: "\$\{PROMSHARD_REPLICA\}"\n/);
  // A shard whose own `remote_write: []` replaces the fleet's sends nothing and needs no identity labels.
  const storageConfig = renderPrometheusConfig(storage);
  assert.doesNotMatch(storageConfig, /remote_write|promshard_shard|PROMSHARD_REPLICA/);

  // promtool's full check (not --syntax-only) passes with the credential file in place. Prometheus
  // 2.42's promtool does not check remote_write's *_file paths at all (checked by hand: a missing
  // credentials_file, cert_file or key_file under remote_write still passes), so a missing file shows
  // only as failed sends; docs/operations.md says so.
  const file = join(dir, 'prometheus.yml');
  writeFileSync(file, config);
  execFileSync(PROMTOOL_BIN, ['check', 'config', file], { stdio: 'pipe' });

  // Two replicas, one document: only the environment differs.
  const doc = buildDesiredDocument({ shard: 'networking', revision: 'rev-1', generation: 1, committedAt: new Date().toISOString(), files: [{ path: 'prometheus.yml', content: config }] });
  const replicas: { name: string; prometheus: RunningPrometheus; agent: RunningAgent }[] = [];
  for (const name of ['a', 'b']) {
    const rdir = join(dir, `replica-${name}`);
    mkdirSync(rdir);
    const configFile = join(rdir, 'prometheus.yml');
    writeFileSync(configFile, 'global:\n  scrape_interval: 1s\nscrape_configs: []\n');
    const prometheus = await startPrometheus({ configFile, dir: rdir, extraArgs: ['--enable-feature=expand-external-labels'], env: { PROMSHARD_REPLICA: name } });
    cleanups.push(() => prometheus.destroy());
    const agent = await startAgent({ shard: 'networking', replica: name, prometheusUrl: prometheus.url, configFile, stateDir: join(rdir, 'state'), token: TOKEN, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: () => {} });
    cleanups.push(() => agent.close());
    replicas.push({ name, prometheus, agent });
  }
  for (const r of replicas) {
    const res = await fetch(`${r.agent.url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    const body = (await res.json()) as { result: string; error?: string };
    assert.equal(body.result, 'applied', `replica ${r.name}: ${JSON.stringify(body)}`);
  }

  // Each replica's Prometheus shows its own replica name; the receiver has every shard × replica.
  for (const r of replicas) {
    const loaded = ((await (await fetch(`${r.prometheus.url}/api/v1/status/config`)).json()) as { data: { yaml: string } }).data.yaml;
    assert.match(loaded, new RegExp(`replica: ${r.name}\\n`));
  }
  const seen = await waitFor(
    'both replicas at the receiver',
    async () => {
      const rows = await query(receiver.url, 'count by (promshard_shard, replica, region) (up{job="receiver"})');
      return rows.length === 2 ? rows : undefined;
    },
    30_000,
    500,
  );
  assert.deepEqual(
    seen.map((r) => r.metric).sort((x, y) => (x.replica < y.replica ? -1 : 1)),
    [
      { promshard_shard: 'networking', region: 'nyc3', replica: 'a' },
      { promshard_shard: 'networking', region: 'nyc3', replica: 'b' },
    ],
  );
  // write_relabel_configs ran: only up and scrape_* left the shard.
  const names = await query(receiver.url, 'count by (__name__) ({promshard_shard="networking"})');
  assert.ok(names.length > 0 && names.every((r) => r.metric.__name__ === 'up' || r.metric.__name__.startsWith('scrape_')), JSON.stringify(names.map((r) => r.metric.__name__)));
});

test('reload proof: an agent whose Prometheus runs under another replica name, or without expand-external-labels, rolls back', { skip, timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-global-proof-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const receiverPort = await freePort();
  const c = compileFiles({ 'shards.yaml': shardsYaml(`http://127.0.0.1:${receiverPort}`, '/etc/prometheus/secrets').replace(/ {4}authorization: .*\n/, ''), 'teams/netops/main.yaml': teamFile('127.0.0.1:9') });
  assert.equal(c.valid, true, JSON.stringify(c.findings, null, 2));
  const config = renderPrometheusConfig(c.model!.shards.find((s) => s.name === 'networking')!);
  const doc = buildDesiredDocument({ shard: 'networking', revision: 'rev-1', generation: 1, committedAt: new Date().toISOString(), files: [{ path: 'prometheus.yml', content: config }] });

  const cases: { name: string; extraArgs: string[]; env: Record<string, string>; expect: string; error?: RegExp }[] = [
    { name: 'right replica', extraArgs: ['--enable-feature=expand-external-labels'], env: { PROMSHARD_REPLICA: 'b' }, expect: 'applied' },
    { name: "the other replica's name", extraArgs: ['--enable-feature=expand-external-labels'], env: { PROMSHARD_REPLICA: 'a' }, expect: 'rolled-back', error: /external_labels differ/ },
    { name: 'feature not enabled', extraArgs: [], env: { PROMSHARD_REPLICA: 'b' }, expect: 'rolled-back', error: /external_labels differ/ },
  ];
  for (const k of cases) {
    const rdir = join(dir, k.name.replace(/\W+/g, '-'));
    mkdirSync(rdir);
    const configFile = join(rdir, 'prometheus.yml');
    const initial = 'global:\n  scrape_interval: 1s\nscrape_configs: []\n';
    writeFileSync(configFile, initial);
    const prometheus = await startPrometheus({ configFile, dir: rdir, extraArgs: k.extraArgs, env: k.env });
    const agent = await startAgent({ shard: 'networking', replica: 'b', prometheusUrl: prometheus.url, configFile, stateDir: join(rdir, 'state'), token: TOKEN, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: () => {} });
    try {
      const res = await fetch(`${agent.url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
      const body = (await res.json()) as { result: string; error?: string };
      assert.equal(body.result, k.expect, `${k.name}: ${JSON.stringify(body)}`);
      if (k.error) assert.match(body.error ?? '', k.error, k.name);
    } finally {
      await agent.close();
      await prometheus.destroy();
    }
  }
});

test('a split shard that remote-writes: each split document carries promshard_split with its number, the same shard and replica reference, and passes promtool', { skip }, () => {
  const text = shardsYaml('http://127.0.0.1:1', '/etc/prometheus/secrets').replace(/ {4}authorization: .*\n/, '').replace('  - name: networking\n    replicas: 2\n', '  - name: networking\n    replicas: 2\n    split: 2\n');
  const c = compileFiles({ 'shards.yaml': text, 'teams/netops/main.yaml': teamFile('127.0.0.1:9') });
  assert.equal(c.valid, true, JSON.stringify(c.findings, null, 2));
  const docs = buildShardDocuments(c.model!, { revision: 'r', generation: 1, committedAt: new Date(0).toISOString() });
  const dir = mkdtempSync(join(tmpdir(), 'promshard-global-split-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, index] of [['networking.s0', '0'], ['networking.s1', '1']] as const) {
    const content = docs.get(name)!.files[0]!.content;
    const labels = /external_labels:\n((?: {4}\S.*\n)+)/.exec(content)?.[1] ?? '';
    assert.match(labels, /^ {4}promshard_shard: networking$/m, name);
    assert.match(labels, new RegExp(`^ {4}promshard_split: "${index}"$`, 'm'), name);
    assert.match(labels, /^ {4}replica: "\$\{PROMSHARD_REPLICA\}"$/m, name);
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, content);
    execFileSync(PROMTOOL_BIN, ['check', 'config', file], { stdio: 'pipe' });
  }
});
