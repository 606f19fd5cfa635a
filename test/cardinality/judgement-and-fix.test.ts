import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { barsFor, judge, resolveThresholds } from '../../shard-agent/cardinality/thresholds.ts';
import { classifySample } from '../../shard-agent/cardinality/value-classifier.ts';
import { planFix, validateRules, buildFix } from '../../shard-agent/cardinality/fix-suggestion.ts';
import { GrowthTracker } from '../../shard-agent/cardinality/growth-tracker.ts';
import { DEFAULT_CARDINALITY_THRESHOLDS } from '../../core/protocol/cardinality-flag.ts';
import { fakeUuid } from '../support/exporters.ts';
import { PROMTOOL_BIN } from '../support/prometheus.ts';
import { existsSync } from 'node:fs';

const T = resolveThresholds();
const run = (label: string, distinct: number, metricSeries: number, values: string[], rising = 0, t = T) =>
  judge({ distinct, metricSeries, seriesAffected: metricSeries, rising, sample: classifySample(values), bars: barsFor(label, t), thresholds: t });

test('resolveThresholds fills defaults and keeps overrides', () => {
  assert.deepEqual(resolveThresholds(), DEFAULT_CARDINALITY_THRESHOLDS);
  assert.equal(resolveThresholds({ max_label_values: 50 }).max_label_values, 50);
  assert.equal(resolveThresholds({ max_label_values: 50 }).growth_cycles, 3);
});

test('request_id with thousands of UUIDs: id-pattern, critical', () => {
  const j = run('request_id', 3000, 3000, Array.from({ length: 24 }, (_, i) => fakeUuid(i)));
  assert.ok(j);
  assert.equal(j.reasons[0], 'id-pattern');
  assert.equal(j.severity, 'critical');
});

test('300 host-like values of a legit label: not flagged', () => {
  const hosts = Array.from({ length: 24 }, (_, i) => `web-${String(i + 1).padStart(3, '0')}`);
  assert.equal(run('host', 300, 300, hosts), null);
  assert.equal(run('host', 300, 900, hosts), null);
});

test('healthy bounded labels: not flagged even when many values and rising', () => {
  assert.equal(run('handler', 60, 4000, ['/api/v1/users', '/api/v1/users/:id', '/login']), null);
  assert.equal(run('code', 25, 4000, ['200', '404', '500'], 5), null);
  assert.equal(run('method', 21, 4000, ['GET', 'POST'], 9), null);
});

test('growth: an id-named label flags after growth_cycles rises, long before its count bar', () => {
  const values = Array.from({ length: 24 }, (_, i) => String(48000 + i));
  assert.equal(run('ci_run', 30, 30, values, 2), null);
  const j = run('ci_run', 30, 30, values, 3);
  assert.deepEqual(j?.reasons, ['growth']);
  assert.equal(j?.severity, 'warning');
  // A neutral name with ordinary values needs twice the cycles.
  const pods = Array.from({ length: 24 }, (_, i) => `api-${i}`);
  assert.equal(run('pod', 30, 30, pods, 3), null);
  assert.deepEqual(run('pod', 30, 30, pods, 6)?.reasons, ['growth']);
});

test('per-job thresholds change the bars; plain high counts are flagged', () => {
  const hosts = Array.from({ length: 24 }, (_, i) => `web-${i}`);
  assert.deepEqual(run('host', 1500, 3000, hosts)?.reasons, ['high-count']);
  const strict = resolveThresholds({ max_label_values: 200 });
  assert.deepEqual(run('host', 300, 300, hosts, 0, strict)?.reasons, ['unique-per-series', 'high-count']);
});

test('GrowthTracker counts consecutive strict rises and resets on a flat cycle', () => {
  const g = new GrowthTracker();
  assert.equal(g.observe('k', 10).rising, 0);
  assert.equal(g.observe('k', 11).rising, 1);
  assert.equal(g.observe('k', 12).rising, 2);
  assert.equal(g.observe('k', 12).rising, 0);
  assert.equal(g.observe('k', 13).rising, 1);
  g.retain(new Set());
  assert.equal(g.size, 0);
});

const CTX = { job: 'x', metric: 'm', label: 'l', file: 'teams/a/x.yaml', line: 3, seriesBefore: 100, seriesAfter: 1, distinctValues: 3, complete: true, residualBar: 50 };

test('labeldrop fix for ids; snippets parse as team-file metric_relabel_configs and pass promtool', { skip: !existsSync(PROMTOOL_BIN) }, async () => {
  const drop = await planFix({ label: 'request_id', selector: '{job="x"}', values: [fakeUuid(1), fakeUuid(2)], existing: [] });
  assert.deepEqual(drop.rules, [{ action: 'labeldrop', regex: 'request_id' }]);
  const path = await planFix({ label: 'path', selector: '{job="x"}', values: ['/a/1/b/22/c/333?x=1', '/a/2/b/23/c/334', '/a/3/b/24/c/335#f'], existing: [] });
  assert.equal(path.kind, 'replace');
  const dir = mkdtempSync(join(tmpdir(), 'promshard-fix-'));
  try {
    for (const plan of [drop, path]) {
      const fix = buildFix(plan, CTX);
      assert.equal(fix.estimatedSeriesSaved, 99);
      const doc = parse(fix.snippet) as { metric_relabel_configs: Record<string, unknown>[] };
      assert.deepEqual(doc.metric_relabel_configs, plan.rules);
      for (const r of doc.metric_relabel_configs)
        for (const k of Object.keys(r)) assert.ok(['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'].includes(k));
      const cfg = { scrape_configs: [{ job_name: 'x', static_configs: [{ targets: ['127.0.0.1:1'] }], metric_relabel_configs: doc.metric_relabel_configs }] };
      const file = join(dir, 'prometheus.yml');
      writeFileSync(file, stringify(cfg));
      execFileSync(PROMTOOL_BIN, ['check', 'config', file], { stdio: 'pipe' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('validateRules refuses unknown keys and RE2-invalid regexes', () => {
  assert.throws(() => validateRules([{ action: 'labeldrop', regex: '(?=x)' }]));
  assert.throws(() => validateRules([{ action: 'labeldrop', regex: 'x', extra: 1 } as never]));
  assert.throws(() => validateRules([{ action: 'explode' }]));
});
