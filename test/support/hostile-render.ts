// Hostile strings and the renderer round-trip property, shared by test/render/render-roundtrip.test.ts
// (seeded, a fixed number of cases) and the hostile-input fuzz target (test/hostile/fuzz-render*.ts,
// time-bounded). Two generators: compiled models with any string anywhere (the renderer must be safe
// even when rules are skipped), and team files holding only what the rules accept (the whole path
// CI and the controller take). The property: the rendered text parses back, under YAML 1.1 (what Go's
// yaml.v2 in Prometheus reads) and YAML 1.2 core, to exactly the structure the renderer was given.
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import jsyaml from 'js-yaml';
import type { CompiledJob, CompiledShard, LabelSet } from '../../schemas/model.ts';
import { renderPrometheusConfig, renderScrapeConfig } from '../../core/render/render-prometheus-config.ts';
import { seededRandom } from './fleet.ts';

export type Rng = ReturnType<typeof seededRandom>;

/** Fragments that mean something to YAML, to a YAML 1.1 resolver, to a terminal or to a reader. */
export const YAML_FRAGMENTS = [
  ':', ': ', ' :', '#', ' #', '# ', '- ', '-', '? ', '{', '}', '[', ']', ',', '&a', '*a', '!', '!!str ', '!!int ', '%', '@', '`', '|', '>', "'", '"', "''", '\\', '\\n', '\\"',
  '---', '...', '--- ', ' ', '  ', '~', 'null', 'Null', 'NULL', 'true', 'True', 'false', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'Y', '=', '<<',
  '0', '-1', '+1', '1.5', '1e3', '1_000', '0x1F', '0o17', '0b101', '017', '.inf', '-.Inf', '.nan', 'NaN', '1:20', '190:20:30', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '12:30:00',
  '30s', '1m30s', 'a: b # c', 'key: value', '- item', '{a: 1}', '[1, 2]', 'remote_write:', '\n  - url: http://evil.example/', 'http://x.example:9090/a?b=c&d=%20#f',
];
/** Characters a rule refuses; the renderer must still keep them inside their scalar. */
export const UNSAFE_FRAGMENTS = ['\n', '\r', '\r\n', '\t', '\x00', '\x1b[31m', '\x7f', '\x85', '\x9b', '\u2028', '\u2029', '\u061c', '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2069', '\u200b', '\u200d', '\ufeff', '\u2060'];
export const UNICODE_FRAGMENTS = ['é', 'ü', 'Zürich', '東京', 'עברית', 'العربية', '😀', '𝔘', '\u00a0', 'ﬁ', 'Ω', 'ß'];

export function hostileString(rng: Rng, opts: { unsafe: boolean }): string {
  const n = rng.int(0, 6);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (opts.unsafe && r < 0.25) s += rng.pick(UNSAFE_FRAGMENTS);
    else if (r < 0.7) s += rng.pick(YAML_FRAGMENTS);
    else if (r < 0.85) s += rng.pick(UNICODE_FRAGMENTS);
    else s += String.fromCharCode(rng.int(0x20, 0x7e)).repeat(rng.int(1, 3));
  }
  if (rng.chance(0.1)) s = ' ' + s;
  if (rng.chance(0.1)) s += ' ';
  return s;
}

function labels(rng: Rng, value: () => string): LabelSet {
  const out: LabelSet = {};
  for (let i = rng.int(0, 3); i > 0; i--) out[rng.pick(['env', 'zone', 'url', 'note', 'service', 'rack', 'owner'])] = value();
  return out;
}

const at = (file: string) => ({ file, line: 1, column: 1 });

/** A compiled shard with `value()` in every string field the renderer writes (names and keys included). */
export function hostileModel(rng: Rng, value: () => string): CompiledShard {
  const jobs: CompiledJob[] = [];
  for (let j = rng.int(1, 4); j > 0; j--) {
    const name = `${value()}#${j}`; // distinct names: the renderer writes one scrape_config per job
    const team = value();
    const spec: CompiledJob['spec'] = { name, interval: rng.pick(['30s', '1m', value()]), timeout: rng.pick(['10s', value()]), limits: rng.chance(0.5) ? { sample_limit: rng.int(0, 1e6), label_limit: 30 } : {} };
    if (rng.chance(0.5)) spec.metrics_path = value();
    if (rng.chance(0.5)) spec.scheme = rng.pick(['http', 'https'] as const);
    if (rng.chance(0.4)) spec.params = { [value()]: [value(), value()] };
    if (rng.chance(0.3)) spec.honor_labels = rng.chance(0.5);
    if (rng.chance(0.3)) spec.tls = { ca_file: value(), server_name: value(), insecure_skip_verify: rng.chance(0.5) };
    if (rng.chance(0.3)) spec.basic_auth = { username: value(), password_file: value() };
    if (rng.chance(0.3)) spec.authorization = { type: value(), credentials_file: value() };
    const relabel = () => ({ source_labels: [value()], separator: value(), regex: value(), target_label: value(), replacement: value(), action: value(), ...(rng.chance(0.3) ? { modulus: rng.int(1, 9) } : {}) });
    if (rng.chance(0.5)) spec.relabel_configs = [relabel()];
    if (rng.chance(0.5)) spec.metric_relabel_configs = [relabel(), relabel()];
    spec.labels = labels(rng, value);
    const targets: CompiledJob['targets'] = [];
    if (rng.chance(0.3)) {
      spec.discovery = rng.chance(0.5)
        ? { dns: { names: [value(), value()], type: rng.pick(['A', 'SRV'] as const), port: rng.int(1, 65535), refresh_interval: value() } }
        : { kubernetes: { role: 'pod', namespaces: [value()], label_selector: value(), field_selector: value(), api_server: value() } };
    } else {
      for (let t = rng.int(1, 4); t > 0; t--) targets.push({ address: value(), labels: { ...spec.labels, ...labels(rng, value) }, source: at(value()) });
    }
    jobs.push({ name, team, shard: 'hostile', source: at(value()), spec, targets, cardinality: {} as CompiledJob['cardinality'] });
  }
  jobs.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { name: value(), replicas: 2, budget: { max_series: 1, max_targets: 1 }, externalLabels: labels(rng, value), evaluationInterval: '1m', interval: '30s', timeout: '10s', jobs };
}

/** What the rendered text must parse to: the renderer's own structure, before any YAML is written. */
export function expectedConfig(shard: CompiledShard): Record<string, unknown> {
  const global: Record<string, unknown> = { scrape_interval: shard.interval, scrape_timeout: shard.timeout, evaluation_interval: shard.evaluationInterval };
  if (Object.keys(shard.externalLabels).length) global.external_labels = shard.externalLabels;
  return { global, scrape_configs: shard.jobs.map((job) => renderScrapeConfig(job)) };
}

/** Key order is not part of the property (YAML mappings are unordered); byte-identical strings are. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
}

/**
 * Renders `shard` and checks the property under three parsers: `yaml` in YAML 1.1 mode, `yaml` with
 * the 1.2 core schema, and js-yaml. Also checks, independently of the renderer's own structure, that
 * every job is there under its exact name and every static target with its exact label values.
 * Returns the rendered text.
 */
export function assertRoundTrip(shard: CompiledShard, context: string): string {
  const text = renderPrometheusConfig(shard);
  assert.ok(/^[\x20-\x7e\n]*$/.test(text), `${context}: rendered text holds a byte outside printable ASCII and LF`);
  const expected = sortKeys(expectedConfig(shard));
  const parsers: [string, () => unknown][] = [
    ['yaml 1.1', () => parse(text, { version: '1.1', uniqueKeys: true, strict: true })],
    ['yaml 1.2 core', () => parse(text, { schema: 'core', uniqueKeys: true, strict: true })],
    ['js-yaml', () => jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA })],
  ];
  for (const [name, run] of parsers) {
    let doc: unknown;
    try {
      doc = run();
    } catch (err) {
      assert.fail(`${context}: ${name} cannot parse the rendered text: ${(err as Error).message}\n${text}`);
    }
    assert.deepEqual(sortKeys(doc), expected, `${context}: ${name} reads something else than was rendered\n${text}`);
    const cfg = doc as { scrape_configs: { job_name: string; static_configs?: { targets: string[]; labels: LabelSet }[] }[] };
    assert.deepEqual(cfg.scrape_configs.map((c) => c.job_name), shard.jobs.map((j) => j.name), `${context}: ${name}: jobs missing, extra or renamed`);
    shard.jobs.forEach((job, i) => {
      const got = (cfg.scrape_configs[i].static_configs ?? []).flatMap((g) => g.targets.map((t) => ({ t, labels: g.labels })));
      const want = job.targets.map((t) => ({ t: t.address, labels: sortKeys({ ...t.labels, team: job.team }) }));
      // The renderer groups targets by label set, so compare as multisets.
      const bag = (xs: unknown[]) => xs.map((x) => JSON.stringify(sortKeys(x))).sort();
      assert.deepEqual(bag(got), bag(want), `${context}: ${name}: targets or label values of job ${JSON.stringify(job.name)} differ`);
    });
  }
  return text;
}

/** A string that every rule accepts in a label value, a param or a description, yet YAML-hostile. */
export function acceptedHostileString(rng: Rng): string {
  return hostileString(rng, { unsafe: false }).replace(/\n/g, ' ');
}

/** YAML text for one team file holding accepted hostile strings in labels, params, paths and descriptions. */
export function hostileTeamFile(rng: Rng, team: string, fileIndex: number): { text: string; values: Map<string, LabelSet> } {
  const q = (s: string) => JSON.stringify(s); // JSON strings are YAML double-quoted scalars
  const values = new Map<string, LabelSet>();
  const lines = [`team: ${team}`, 'shard: networking', `description: ${q(acceptedHostileString(rng))}`, 'jobs:'];
  for (let j = rng.int(1, 3); j > 0; j--) {
    const name = `${team}-f${fileIndex}-j${j}`;
    const set: LabelSet = {};
    for (let l = rng.int(1, 4); l > 0; l--) set[rng.pick(['env', 'zone', 'url', 'note', 'service', 'rack'])] = acceptedHostileString(rng);
    values.set(name, set);
    lines.push(`  - name: ${name}`, `    description: ${q(acceptedHostileString(rng))}`, `    targets: ["${name}.internal:9100"]`);
    lines.push(`    metrics_path: ${q('/' + acceptedHostileString(rng))}`);
    lines.push(`    params: { module: [${q(acceptedHostileString(rng))}] }`);
    lines.push(`    labels: {${Object.entries(set).map(([k, v]) => ` ${k}: ${q(v)}`).join(',')} }`);
  }
  return { text: lines.join('\n') + '\n', values };
}
