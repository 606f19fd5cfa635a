// deploy/grafana/promshard.json may only use metrics the code really exports. A controller and an
// agent (with its cardinality analyzer) run in-process, their /metrics are scraped over HTTP, and
// every metric name in the dashboard's PromQL (panels, template variables, annotations) must be
// among the scraped names (histograms: _bucket, _sum and _count of a histogram family). The
// remote-write panels read Prometheus's own prometheus_remote_storage_* metrics: those names are
// scraped from a real Prometheus that remote-writes to a real receiver and has sent at least once
// (some of its gauges only appear after the first successful send).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { asFlagSource, createCardinalityAnalyzer, type CardinalityAnalyzer } from '../../shard-agent/cardinality/index.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { ADMIN_TOKEN, SHARDS_YAML, SPARE_FILE, WEBHOOK_SECRET } from './helpers.ts';
import { freePort, prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { waitFor } from '../support/wait-for.ts';

const DASHBOARD = join(process.cwd(), 'deploy', 'grafana', 'promshard.json');

const PROMQL_WORDS = new Set([
  // aggregation operators and modifiers
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2',
  'inf', 'nan',
]);

/** Metric names used by one PromQL expression (or a Grafana label_values() query). */
export function metricNamesIn(expr: string): string[] {
  let e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // range selectors and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  // label_values(metric, label): the second argument is a label name.
  e = e.replace(/label_values\s*\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)/g, ' $1 ');
  const names: string[] = [];
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(e))) {
    const word = m[0];
    const before = e[m.index - 1];
    if (before !== undefined && /[0-9.]/.test(before)) continue; // part of a number such as 1e3
    const rest = e.slice(m.index + word.length);
    if (/^\s*\(/.test(rest)) continue; // a function call
    if (PROMQL_WORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

function expressionsOf(dashboard: any): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (v.type === 'query' && typeof q === 'string') out.push({ where: `variable $${v.name}`, expr: q });
  }
  for (const a of dashboard.annotations?.list ?? []) if (typeof a.expr === 'string') out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  return out;
}

/** Names a /metrics body exposes, from its TYPE lines (histogram and summary families expanded). */
function exposedNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    const m = /^# TYPE (\S+) (\w+)/.exec(line);
    if (m) {
      const [, name, type] = m;
      names.add(name!);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      continue;
    }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (s) names.add(s[1]!);
  }
  return names;
}

describe('Grafana dashboard uses only exported metrics', () => {
  let dir: string;
  let git: TestGitRepo;
  let controller: RunningController;
  let agent: RunningAgent;
  let analyzer: CardinalityAnalyzer;
  const exported = new Set<string>();
  /** Names a real remote-writing Prometheus 2.42 exposes; empty when Prometheus is not installed. */
  const prometheusOwn = new Set<string>();
  let receiver: RunningPrometheus | undefined;
  let writer: RunningPrometheus | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-grafana-'));
    git = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/storage-ops/spare.yaml': SPARE_FILE });
    const quiet = () => undefined;
    controller = await startController({ repo: git.dir, stateDir: join(dir, 'controller'), token: ADMIN_TOKEN, webhookSecret: WEBHOOK_SECRET, pollMs: 0, reconcileMs: 60_000, logWrite: quiet });
    let a: CardinalityAnalyzer | null = null;
    agent = await startAgent({
      shard: 'spare',
      replica: 'a',
      prometheusUrl: 'http://127.0.0.1:9', // no Prometheus needed: only the metric families matter
      configFile: join(dir, 'agent', 'prometheus.yml'),
      stateDir: join(dir, 'agent', 'state'),
      token: ADMIN_TOKEN,
      controllerUrl: controller.url,
      promtool: null,
      flagSource: { flags: () => (a ? asFlagSource(a).flags() : []), analyzeNow: async () => (a ? asFlagSource(a).analyzeNow() : []) },
      logWrite: quiet,
    });
    analyzer = createCardinalityAnalyzer({ prometheusUrl: 'http://127.0.0.1:9', shard: 'spare', owners: () => agent.owners(), registry: agent.metrics.registry, intervalMs: 600_000 });
    a = analyzer;
    await controller.reconcileNow();
    for (const url of [`${controller.url}/metrics`, `${agent.url}/metrics`]) {
      const res = await fetch(url);
      assert.equal(res.status, 200, url);
      for (const n of exposedNames(await res.text())) exported.add(n);
    }
    if (prometheusInstalled()) {
      receiver = await startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] });
      const port = await freePort();
      writer = await startPrometheus({
        port,
        config: `global: { scrape_interval: 1s }\nremote_write:\n  - url: ${receiver.url}/api/v1/write\n    name: global\n    queue_config: { batch_send_deadline: 1s }\nscrape_configs:\n  - job_name: self\n    static_configs: [{ targets: ["127.0.0.1:${port}"] }]\n`,
      });
      const w = writer;
      const body = await waitFor('a first successful remote-write send', async () => {
        const text = await (await fetch(`${w.url}/metrics`)).text();
        return /^prometheus_remote_storage_queue_highest_sent_timestamp_seconds\{[^}]*\} [1-9]/m.test(text) ? text : null;
      }, 30_000, 250);
      for (const n of exposedNames(body)) prometheusOwn.add(n);
    }
  });

  after(async () => {
    await writer?.destroy();
    await receiver?.destroy();
    analyzer?.stop();
    await agent?.close();
    await controller?.close();
    git?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the extractor finds metric names and skips functions, keywords, labels and variables', () => {
    assert.deepEqual(
      metricNamesIn('histogram_quantile(0.9, sum by (le) (rate(a_seconds_bucket{job=~"$job",x="y(z)"}[$__rate_interval]))) / on (shard) group_left (team) b_total offset 5m or vector(0) > 1e3'),
      ['a_seconds_bucket', 'b_total'],
    );
    assert.deepEqual(metricNamesIn('label_values(promshard_agent_applied_generation, shard)'), ['promshard_agent_applied_generation']);
    assert.deepEqual(metricNamesIn('time() - max(c_timestamp_seconds)'), ['c_timestamp_seconds']);
  });

  test('every metric in every expression is exported by the controller or the agent', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const exprs = expressionsOf(dashboard);
    assert.ok(exprs.length >= 20, `only ${exprs.length} expressions`);
    const missing: string[] = [];
    const used = new Set<string>();
    for (const { where, expr } of exprs) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const n of names) {
        used.add(n);
        // Prometheus's own metrics (the remote-write panels) come from Prometheus, not from promshard.
        if (n.startsWith('prometheus_') ? prometheusInstalled() && !prometheusOwn.has(n) : !exported.has(n)) missing.push(`${where}: ${n}`);
      }
    }
    assert.deepEqual(missing, [], `metrics used by the dashboard but not exported:\n${missing.join('\n')}`);
    // The dashboard covers the metrics the brief asks for.
    for (const n of [
      'promshard_controller_rollout_lag_seconds',
      'promshard_controller_commit_to_applied_seconds_bucket',
      'promshard_agent_applies_total',
      'promshard_controller_pushes_total',
      'promshard_controller_agents',
      'promshard_controller_repository_valid',
      'promshard_controller_cardinality_flags',
      'promshard_agent_reports_dropped_total',
      'prometheus_remote_storage_highest_timestamp_in_seconds',
      'prometheus_remote_storage_queue_highest_sent_timestamp_seconds',
      'prometheus_remote_storage_samples_pending',
      'prometheus_remote_storage_samples_failed_total',
    ]) {
      assert.ok(used.has(n), `the dashboard does not use ${n}`);
    }
  });

  test('the dashboard is well-formed: unique panel ids, a datasource on every query, grid inside 24 columns', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    assert.equal(typeof dashboard.uid, 'string');
    assert.ok(dashboard.schemaVersion >= 36);
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
      ids.add(p.id);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `panel "${p.title}" is wider than the grid`);
      if (p.type === 'row') continue;
      assert.ok(p.title && p.description, `panel ${p.id} needs a title and a description`);
      for (const t of p.targets) assert.equal(t.datasource?.uid, '${datasource}');
    }
  });

  test('every expression parses in a real Prometheus (Grafana variables substituted)', { skip: !prometheusInstalled() && 'needs /usr/bin/prometheus' }, async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const prom = await startPrometheus();
    try {
      const errors: string[] = [];
      for (const { where, expr } of expressionsOf(dashboard)) {
        if (/^\s*label_values\(/.test(expr)) continue; // a Grafana query, not PromQL
        const promql = expr.replace(/\$__rate_interval|\$__range|\$__interval/g, '5m').replace(/\$shard/g, '.*').replace(/\$controller_job/g, '.+');
        const res = await fetch(`${prom.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: promql }) });
        const body = (await res.json()) as { status: string; error?: string };
        if (body.status !== 'success') errors.push(`${where}: ${body.error} in ${promql}`);
      }
      assert.deepEqual(errors, []);
    } finally {
      await prom.destroy();
    }
  });
});
