// End to end: a real Prometheus 2.42 (scrape_interval 1s) scraping real exporters on loopback, and the
// analyzer querying it. One Prometheus serves every scenario so the suite stays short.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { Registry } from 'prom-client';
import { startPrometheus, prometheusInstalled, type RunningPrometheus } from '../support/prometheus.ts';
import { startExporter, line, family, fakeUuid, healthyServiceBody, hostsBody, type Exporter } from '../support/exporters.ts';
import { createCardinalityAnalyzer, asFlagSource, type CardinalityAnalyzer } from '../../shard-agent/cardinality/index.ts';
import type { CardinalityFlag } from '../../core/protocol/cardinality-flag.ts';
import type { JobOwner } from '../../core/document/desired-document.ts';
import { resolveThresholds } from '../../shard-agent/cardinality/thresholds.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CI_START = 22;

const owner = (team: string, file: string, line: number): JobOwner => ({ team, file, line, cardinality: resolveThresholds() });
const OWNERS: Record<string, JobOwner> = {
  api: owner('payments', 'scrape-configs/teams/payments/api.yaml', 4),
  ci: owner('build', 'scrape-configs/teams/build/ci.yaml', 7),
  web: owner('frontend', 'scrape-configs/teams/frontend/web.yaml', 3),
  fleet: owner('infra', 'scrape-configs/teams/infra/fleet.yaml', 12),
  // "legacy" is deliberately missing: its flags must say team "unknown".
};

describe('cardinality analyzer against a real Prometheus', { skip: !prometheusInstalled() }, () => {
  const exporters: Record<string, Exporter> = {};
  let prom: RunningPrometheus;
  let analyzer: CardinalityAnalyzer;
  const registry = new Registry();
  const everFlagged: CardinalityFlag[] = [];
  let growthFlag: CardinalityFlag | undefined;
  const jobsConfig: Record<string, unknown>[] = [];

  const writeConfig = () =>
    writeFileSync(prom.configFile, stringify({ global: { scrape_interval: '1s', scrape_timeout: '1s' }, scrape_configs: jobsConfig }));
  const query = async (q: string) => {
    const res = await fetch(`${prom.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }) });
    return ((await res.json()) as { data: { result: { value: [number, string] }[] } }).data.result;
  };

  before(async () => {
    exporters.api = await startExporter(() => {
      const reqs: string[] = [];
      for (let i = 0; i < 3000; i++) reqs.push(line('api_http_requests_total', { request_id: fakeUuid(i), method: i % 3 ? 'GET' : 'POST' }, 1));
      return family('api_http_requests_total', 'counter', reqs) + family('api_up', 'gauge', [line('api_up', {}, 1)]);
    });
    exporters.ci = await startExporter((scrape) => {
      const runs: string[] = [];
      for (let i = 0; i < CI_START + scrape; i++) runs.push(line('ci_pipeline_duration_seconds', { ci_run: String(48000 + i), pipeline: 'deploy' }, 30 + i));
      return family('ci_pipeline_duration_seconds', 'gauge', runs);
    });
    exporters.web = await startExporter(() => healthyServiceBody());
    exporters.fleet = await startExporter(() => hostsBody(300));
    exporters.legacy = await startExporter(() => {
      const rows: string[] = [];
      for (let i = 0; i < 400; i++) rows.push(line('legacy_requests_total', { path: `/users/${10000 + (i % 200)}/orders/${i}`, code: '200' }, i));
      return family('legacy_requests_total', 'counter', rows);
    });
    for (const [job, ex] of Object.entries(exporters)) jobsConfig.push({ job_name: job, static_configs: [{ targets: [ex.target] }] });
    prom = await startPrometheus({ config: 'global: {}\nscrape_configs: []\n' });
    writeConfig();
    assert.equal((await fetch(`${prom.url}/-/reload`, { method: 'POST' })).status, 200);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const up = await query('count(up == 1)');
      const api = await query('count(api_http_requests_total)');
      if (up[0]?.value[1] === '5' && api[0]?.value[1] === '3000') break;
      await sleep(250);
    }
    analyzer = createCardinalityAnalyzer({ prometheusUrl: prom.url, shard: 'apps', owners: () => OWNERS, registry, intervalMs: 60_000, budgetMs: 10_000, concurrency: 4 });
    // Cycles 1.5 s apart (more than one scrape interval) until the growing label is flagged.
    for (let i = 0; i < 14 && !growthFlag; i++) {
      const started = Date.now();
      const report = await analyzer.runCycle();
      assert.notEqual(report.result, 'error', report.error);
      everFlagged.push(...analyzer.flags());
      growthFlag = analyzer.flags().find((f) => f.job === 'ci' && f.label === 'ci_run');
      await sleep(Math.max(0, 1500 - (Date.now() - started)));
    }
  });

  after(async () => {
    analyzer?.stop();
    await prom?.destroy();
    await Promise.all(Object.values(exporters).map((e) => e.close()));
  });

  test('request_id carrying thousands of UUIDs is flagged as id-pattern uuid, with a labeldrop fix', () => {
    const f = analyzer.flags().find((x) => x.job === 'api' && x.label === 'request_id');
    assert.ok(f, JSON.stringify(analyzer.flags().map((x) => x.id)));
    assert.equal(f.metric, 'api_http_requests_total');
    assert.equal(f.reason, 'id-pattern');
    assert.equal(f.pattern, 'uuid');
    assert.ok(f.patternShare >= 0.8);
    assert.equal(f.distinctValues, 3000);
    assert.equal(f.seriesAffected, 3000);
    assert.equal(f.severity, 'critical');
    assert.ok(f.examples.length >= 1 && f.examples.length <= 3);
    for (const e of f.examples) assert.match(e, /^[0-9a-f-]{36}$/);
    assert.equal(f.fix.kind, 'labeldrop');
    assert.deepEqual(f.fix.rules, [{ action: 'labeldrop', regex: 'request_id' }]);
    // method has two values: dropping request_id leaves 2 series of 3000.
    assert.equal(f.fix.seriesAfter, 2);
    assert.equal(f.fix.estimatedSeriesSaved, 2998);
  });

  test('a ci_run id growing every scrape is flagged for growth before it is large', () => {
    assert.ok(growthFlag, 'ci_run never flagged');
    assert.ok(growthFlag.reasons.includes('growth'), growthFlag.reasons.join());
    assert.ok(growthFlag.distinctValues < 50, `flagged only at ${growthFlag.distinctValues} values`);
    assert.ok(growthFlag.risingCycles >= 3);
    assert.equal(growthFlag.fix.kind, 'labeldrop');
  });

  test('a healthy exporter (histograms with le, code, method, handler) is never flagged', () => {
    assert.deepEqual(everFlagged.filter((f) => f.job === 'web').map((f) => f.id), []);
  });

  test('300 host-like values of a legitimate label are never flagged', () => {
    assert.deepEqual(everFlagged.filter((f) => f.job === 'fleet').map((f) => f.id), []);
  });

  test('flags name the owning team and file from the owners map, "unknown" otherwise', () => {
    const api = analyzer.flags().find((x) => x.job === 'api')!;
    assert.equal(api.shard, 'apps');
    assert.equal(api.team, 'payments');
    assert.equal(api.file, 'scrape-configs/teams/payments/api.yaml');
    assert.equal(api.line, 4);
    assert.equal(growthFlag?.team, 'build');
    assert.equal(growthFlag?.file, 'scrape-configs/teams/build/ci.yaml');
    const legacy = analyzer.flags().find((x) => x.job === 'legacy');
    assert.ok(legacy);
    assert.equal(legacy.team, 'unknown');
    assert.equal(legacy.label, 'path');
    assert.equal(legacy.pattern, 'url-path-id');
    assert.equal(legacy.fix.kind, 'replace');
    assert.equal(legacy.fix.seriesAfter, 1);
  });

  test('firstSeen is kept across cycles; metrics are exported on the given registry', async () => {
    const before = analyzer.flags().find((x) => x.job === 'api')!;
    await analyzer.runCycle();
    const again = analyzer.flags().find((x) => x.job === 'api')!;
    assert.equal(again.firstSeen, before.firstSeen);
    assert.ok(again.lastSeen >= before.lastSeen);
    const text = await registry.metrics();
    assert.match(text, /promshard_agent_cardinality_flag\{job="api",metric="api_http_requests_total",label="request_id",reason="id-pattern",team="payments"\} 3000/);
    assert.match(text, /promshard_agent_cardinality_flags \d+/);
    assert.match(text, /promshard_agent_cardinality_queries_total [1-9]/);
    assert.match(text, /promshard_agent_cardinality_cycles_total\{result="ok"\} [1-9]/);
    assert.match(text, /promshard_agent_cardinality_cycle_duration_seconds_count [1-9]/);
    assert.match(text, /promshard_agent_job_series\{job="api"\} 300[0-9]/);
    const report = analyzer.lastCycle()!;
    assert.equal(report.result, 'ok');
    assert.ok(report.queries > 5 && report.queries < 100, String(report.queries));
    assert.ok(report.jobs.some((j) => j.job === 'api' && j.team === 'payments' && j.targets === 1));
  });

  test('a cycle out of time budget stops, reports partial and keeps earlier flags', async () => {
    const n = analyzer.flags().length;
    const report = await analyzer.runCycle({ budgetMs: 1 });
    assert.equal(report.result, 'partial');
    assert.equal(report.budgetExhausted, true);
    assert.equal(analyzer.flags().length, n);
  });

  test('asFlagSource adapts the analyzer for the agent server', async () => {
    const src = asFlagSource(analyzer);
    assert.equal(src.flags().length, analyzer.flags().length);
    const flags = await src.analyzeNow();
    assert.ok(flags.some((f) => f.label === 'request_id'));
  });

  test('applying the suggested relabel snippets and reloading makes those flags go away', async () => {
    const flags = analyzer.flags();
    for (const job of ['api', 'legacy']) {
      const f = flags.find((x) => x.job === job)!;
      const snippet = parse(f.fix.snippet) as { metric_relabel_configs: unknown[] };
      const cfg = jobsConfig.find((j) => j.job_name === job)!;
      cfg.metric_relabel_configs = snippet.metric_relabel_configs;
    }
    writeConfig();
    const res = await fetch(`${prom.url}/-/reload`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    // Wait for a scrape under the new configuration (old series are marked stale at that point).
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const r = await query('count(count by (request_id) (api_http_requests_total))');
      if (r[0]?.value[1] === '1') break;
      await sleep(250);
    }
    await sleep(1200);
    const report = await analyzer.runCycle();
    assert.equal(report.result, 'ok', report.error);
    const left = analyzer.flags();
    assert.equal(left.find((x) => x.job === 'api'), undefined, JSON.stringify(left.map((x) => x.id)));
    assert.equal(left.find((x) => x.job === 'legacy'), undefined, JSON.stringify(left.map((x) => x.id)));
    // The head still holds the dead series (what the labels API would report), yet no flag remains.
    const values = await fetch(`${prom.url}/api/v1/label/request_id/values`).then((r) => r.json() as Promise<{ data: string[] }>);
    assert.ok(values.data.length >= 3000);
  });
});
