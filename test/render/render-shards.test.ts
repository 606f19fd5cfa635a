// Rendered shards must be what Prometheus accepts: checked with the real promtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readRepositoryFromDirectory } from '../../core/repository/repository-source.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { renderPrometheusConfig } from '../../core/render/render-prometheus-config.ts';
import { emitYaml, yamlScalar } from '../../core/render/yaml-emitter.ts';
import { generateRepository } from '../../bench/support/generate-repository.ts';
import { PROMTOOL_BIN } from '../support/prometheus.ts';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';

const EXAMPLE = fileURLToPath(new URL('../../scrape-configs', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));
const REVISION = { revision: 'abc', generation: 1, committedAt: '2026-01-01T00:00:00Z' };

function promtool(file: string, syntaxOnly = false) {
  const r = spawnSync(PROMTOOL_BIN, ['check', 'config', ...(syntaxOnly ? ['--syntax-only'] : []), file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Debian builds Prometheus without Kubernetes discovery; we detect it rather than assume it. */
function promtoolKnowsKubernetes(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-k8s-probe-'));
  writeFileSync(join(dir, 'p.yml'), 'scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n      - role: pod\n');
  const r = promtool(join(dir, 'p.yml'), true);
  rmSync(dir, { recursive: true, force: true });
  return r.ok;
}

test('example repository: every rendered shard passes promtool check config', () => {
  const c = compileRepository(readRepositoryFromDirectory(EXAMPLE), { rules: ALL_RULES });
  assert.equal(c.valid, true);
  const docs = buildShardDocuments(c.model!, REVISION);
  const dir = mkdtempSync(join(tmpdir(), 'promshard-render-'));
  const k8s = promtoolKnowsKubernetes();
  try {
    for (const [shard, doc] of docs) {
      const model = c.model!.shards.find((s) => s.name === shard)!;
      // Team files reference credential files that exist only on real Prometheus hosts; --syntax-only
      // skips exactly those existence checks and nothing else.
      let text = doc.files[0].content;
      if (!k8s && model.jobs.some((j) => j.spec.discovery?.kubernetes)) {
        // This promtool cannot parse kubernetes_sd_configs at all: check the rest of the shard, and the
        // Kubernetes blocks' shape in the unit test below.
        text = renderPrometheusConfig({ ...model, jobs: model.jobs.filter((j) => !j.spec.discovery?.kubernetes) });
      }
      const file = join(dir, `${shard}.yml`);
      writeFileSync(file, text);
      const r = promtool(file, true);
      assert.ok(r.ok, `promtool refused shard ${shard}:\n${r.out}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a large generated repository (400 files, 40 shards) renders to configs that pass the full promtool check', () => {
  const root = mkdtempSync(join(tmpdir(), 'promshard-gen-'));
  const out = join(root, 'out');
  try {
    generateRepository(join(root, 'repo'), { files: 400, targetsPerFile: 10, shards: 40, jobsPerFile: 2 });
    const r = spawnSync('node', [BIN, 'render', '--repo', join(root, 'repo'), '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const shards = readdirSync(out);
    assert.equal(shards.length, 40);
    for (const s of shards) {
      const p = promtool(join(out, s, 'prometheus.yml'));
      assert.ok(p.ok, `${s}: ${p.out}`);
      const manifest = JSON.parse(readFileSync(join(out, s, 'manifest.json'), 'utf8'));
      assert.equal(manifest.shard, s);
      assert.match(manifest.hash, /^[0-9a-f]{64}$/);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('rendering is deterministic: two renders are byte-identical, and the hash ignores the revision', () => {
  const c1 = compileRepository(readRepositoryFromDirectory(EXAMPLE), { rules: ALL_RULES });
  const c2 = compileRepository(readRepositoryFromDirectory(EXAMPLE), { rules: ALL_RULES });
  const a = buildShardDocuments(c1.model!, REVISION);
  const b = buildShardDocuments(c2.model!, { ...REVISION, revision: 'def', generation: 2 });
  for (const [shard, doc] of a) {
    assert.equal(doc.files[0].content, b.get(shard)!.files[0].content);
    assert.equal(doc.hash, b.get(shard)!.hash);
  }
});

test('render CLI: refuses an invalid repository and writes nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'promshard-bad-'));
  try {
    mkdirSync(join(root, 'teams/a'), { recursive: true });
    writeFileSync(join(root, 'shards.yaml'), BASIC_SHARDS_YAML);
    writeFileSync(join(root, 'teams/a/x.yaml'), 'team: a\nshard: networking\njobs:\n  - name: x\n    intervall: 1m\n    targets: ["a:1"]\n');
    const r = spawnSync('node', [BIN, 'render', '--repo', root, '--out', join(root, 'out')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /teams\/a\/x\.yaml:5:5: error \[unknown-key\]/);
    assert.throws(() => readdirSync(join(root, 'out')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('rendered job: team label, job labels, limits, auth by file, discovery with labels by relabelling', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/netops/x.yaml': `team: netops
shard: networking
jobs:
  - name: static
    labels: { service: dhcp }
    scheme: https
    tls: { ca_file: /etc/prometheus/secrets/netops/ca.pem }
    basic_auth: { username: prom, password_file: /etc/prometheus/secrets/netops/pw }
    limits: { sample_limit: 5000 }
    target_groups:
      - targets: ["a.internal:9100"]
        labels: { rack: r1 }
      - targets: ["b.internal:9100"]
  - name: dns
    labels: { service: "cost: $5 #1" }
    discovery: { dns: { names: ["_node._tcp.internal"], type: SRV } }
    metric_relabel_configs:
      - { action: labeldrop, regex: "request_id" }
`,
  });
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  const text = renderPrometheusConfig(c.model!.shards.find((s) => s.name === 'networking')!);
  const cfg = parse(text);
  assert.deepEqual(cfg.global.external_labels, { shard: 'networking' });
  const [dns, st] = cfg.scrape_configs;
  assert.equal(st.job_name, 'static');
  assert.equal(st.sample_limit, 5000);
  assert.equal(st.label_limit, 30);
  assert.deepEqual(st.basic_auth, { username: 'prom', password_file: '/etc/prometheus/secrets/netops/pw' });
  assert.deepEqual(st.tls_config, { ca_file: '/etc/prometheus/secrets/netops/ca.pem' });
  assert.deepEqual(st.static_configs, [
    { targets: ['a.internal:9100'], labels: { rack: 'r1', service: 'dhcp', team: 'netops' } },
    { targets: ['b.internal:9100'], labels: { service: 'dhcp', team: 'netops' } },
  ]);
  assert.deepEqual(dns.dns_sd_configs, [{ names: ['_node._tcp.internal'], type: 'SRV' }]);
  assert.deepEqual(dns.relabel_configs, [
    { target_label: 'service', replacement: 'cost: $$5 #1', action: 'replace' },
    { target_label: 'team', replacement: 'netops', action: 'replace' },
  ]);
  assert.deepEqual(dns.metric_relabel_configs, [{ regex: 'request_id', action: 'labeldrop' }]);
  const dir = mkdtempSync(join(tmpdir(), 'promshard-r-'));
  writeFileSync(join(dir, 'p.yml'), text);
  const p = promtool(join(dir, 'p.yml'), true);
  rmSync(dir, { recursive: true, force: true });
  assert.ok(p.ok, p.out);
});

test('kubernetes discovery renders namespaces and selectors in Prometheus syntax', () => {
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/k8s/x.yaml': `team: k8s
shard: networking
jobs:
  - name: pods
    discovery: { kubernetes: { role: pod, namespaces: [kube-system], label_selector: "app=coredns" } }
`,
  });
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  const cfg = parse(renderPrometheusConfig(c.model!.shards[0]));
  assert.deepEqual(cfg.scrape_configs[0].kubernetes_sd_configs, [{ role: 'pod', namespaces: { names: ['kube-system'] }, selectors: [{ role: 'pod', label: 'app=coredns' }] }]);
});

test('the YAML emitter quotes whatever could be misread, and round-trips', () => {
  const tricky = ['true', 'no', '1.5', '0x1F', '', ' lead', 'trail ', 'a: b', 'a #b', '#x', '- x', '*alias', '&a', '{x}', '[x]', 'quote"d', "it's", 'line\nbreak', '<script>alert(1)</script>', 'ünïcode', '~', 'null', '@at', '%p', '`b`', '!tag', '|', '>', '?q', 'ends:'];
  const value = { list: tricky, map: Object.fromEntries(tricky.map((t, i) => [`k${i}`, t])), nested: [{ a: [] }, { b: {} }, [1, 2]], n: 3, b: false };
  assert.deepEqual(parse(emitYaml(value)), value);
  for (const t of tricky) assert.equal(parse(`v: ${yamlScalar(t)}`).v, t, `scalar ${JSON.stringify(t)}`);
  assert.equal(yamlScalar('hv1.nyc3.internal:9100'), 'hv1.nyc3.internal:9100', 'plain when safe');
});
