// The protocol schemas (core/protocol/schemas.ts) and the wire types (core/protocol/agent-api.ts,
// cardinality-flag.ts) must describe the same objects. Each key list below is typed against its
// TypeScript type (`Record<keyof T, true>` for all keys, `Record<RequiredKeys<T>, true>` for the
// required ones), so tsc fails when a list misses or adds a key; the test fails when a list differs
// from the schema's `properties` / `required`. Neither side can drift without a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as P from '../../core/protocol/agent-api.ts';
import type * as F from '../../core/protocol/cardinality-flag.ts';
import type { RelabelConfig } from '../../schemas/model.ts';
import * as S from '../../core/protocol/schemas.ts';
import { validateProtocol } from '../../core/protocol/protocol-validator.ts';

type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
const all = <T>(r: Record<keyof T, true>) => Object.keys(r).sort();
const req = <T>(r: Record<RequiredKeys<T>, true>) => Object.keys(r).sort();
type Schema = { properties: Record<string, unknown>; required: string[]; additionalProperties: boolean };
const props = (s: unknown) => Object.keys((s as Schema).properties).sort();
const required = (s: unknown) => [...(s as Schema).required].sort();
const branch = (s: unknown) => (s as { anyOf: unknown[] }).anyOf[1];

type Applied = NonNullable<P.AgentStatus['applied']>;
type UsageJob = P.AgentUsage['jobs'][number];
type Down = NonNullable<P.ApplyResponse['prometheusDown']>;
type Target = P.AgentTargets['targets'][number];

const pairs: [string, string[], string[], unknown][] = [
  ['ApplyResponse', all<P.ApplyResponse>({ result: true, shard: true, revision: true, hash: true, error: true, reloadMs: true, applyMs: true, prometheusDown: true, term: true }), req<P.ApplyResponse>({ result: true, shard: true, revision: true, hash: true }), S.applyResponseSchema],
  ['ApplyResponse.prometheusDown', all<Down>({ since: true, cause: true, reason: true }), req<Down>({ since: true, cause: true, reason: true }), S.applyResponseSchema.properties.prometheusDown],
  [
    'ApplyRecord',
    all<P.ApplyRecord>({ revision: true, generation: true, hash: true, result: true, error: true, startedAt: true, finishedAt: true, applyMs: true, reloadMs: true }),
    req<P.ApplyRecord>({ revision: true, generation: true, hash: true, result: true, startedAt: true, finishedAt: true, applyMs: true }),
    S.applyRecordSchema,
  ],
  ['AgentStatus.applied', all<Applied>({ revision: true, generation: true, hash: true, appliedAt: true, verified: true }), req<Applied>({ revision: true, generation: true, hash: true, appliedAt: true, verified: true }), S.appliedSchema],
  [
    'AgentStatus',
    all<P.AgentStatus>({ shard: true, replica: true, url: true, applied: true, lastResult: true, prometheusReachable: true, prometheusDownSince: true, applying: true, recent: true, flagCount: true, term: true }),
    req<P.AgentStatus>({ shard: true, replica: true, url: true, applied: true, lastResult: true, prometheusReachable: true, prometheusDownSince: true, applying: true, recent: true, flagCount: true }),
    S.agentStatusSchema,
  ],
  ['AgentRegistration', all<P.AgentRegistration>({ shard: true, replica: true, url: true }), req<P.AgentRegistration>({ shard: true, replica: true, url: true }), S.agentRegistrationSchema],
  ['AgentReport', all<P.AgentReport>({ shard: true, replica: true, url: true, status: true }), req<P.AgentReport>({ shard: true, replica: true, url: true, status: true }), S.agentReportSchema],
  ['AgentUsage', all<P.AgentUsage>({ measuredAt: true, headSeries: true, jobs: true }), req<P.AgentUsage>({ measuredAt: true, headSeries: true, jobs: true }), S.usageAnswerSchema],
  ['AgentTargets', all<P.AgentTargets>({ prometheusReachable: true, targets: true }), req<P.AgentTargets>({ prometheusReachable: true, targets: true }), S.targetsAnswerSchema],
  ['AgentTargets.targets[]', all<Target>({ job: true, address: true, health: true, lastError: true, lastScrape: true }), req<Target>({ job: true, address: true, health: true, lastError: true, lastScrape: true }), S.agentTargetSchema],
  ['AgentUsage.jobs[]', all<UsageJob>({ job: true, series: true, targets: true }), req<UsageJob>({ job: true, series: true, targets: true }), S.usageJobSchema],
  [
    'CardinalityFlag',
    all<F.CardinalityFlag>({
      id: true, shard: true, job: true, team: true, file: true, line: true, metric: true, label: true, distinctValues: true, seriesAffected: true, metricSeries: true, valueRatio: true, pattern: true,
      patternShare: true, sampleSize: true, examples: true, severity: true, reason: true, reasons: true, risingCycles: true, firstSeen: true, lastSeen: true, thresholds: true, fix: true,
    }),
    req<F.CardinalityFlag>({
      id: true, shard: true, job: true, team: true, file: true, line: true, metric: true, label: true, distinctValues: true, seriesAffected: true, metricSeries: true, valueRatio: true, pattern: true,
      patternShare: true, sampleSize: true, examples: true, severity: true, reason: true, reasons: true, risingCycles: true, firstSeen: true, lastSeen: true, thresholds: true, fix: true,
    }),
    S.cardinalityFlagSchema,
  ],
  [
    'CardinalityFix',
    all<F.CardinalityFix>({ kind: true, snippet: true, rules: true, resultingRules: true, existingRules: true, residualValues: true, valuesExamined: true, complete: true, residualExamples: true, estimatedSeriesSaved: true, seriesBefore: true, seriesAfter: true, note: true }),
    req<F.CardinalityFix>({ kind: true, snippet: true, rules: true, resultingRules: true, existingRules: true, residualValues: true, valuesExamined: true, complete: true, residualExamples: true, estimatedSeriesSaved: true, seriesBefore: true, seriesAfter: true, note: true }),
    S.cardinalityFixSchema,
  ],
  [
    'CardinalityFlag.thresholds',
    all<F.CardinalityFlag['thresholds']>({ max_label_values: true, max_value_ratio: true, max_series_per_job: true, max_churn_ratio: true, growth_cycles: true, enabled: true }),
    req<F.CardinalityFlag['thresholds']>({ max_label_values: true, max_value_ratio: true, max_series_per_job: true, max_churn_ratio: true, growth_cycles: true, enabled: true }),
    S.cardinalityThresholdsSchema,
  ],
  ['RelabelConfig', all<RelabelConfig>({ source_labels: true, separator: true, regex: true, modulus: true, target_label: true, replacement: true, action: true }), [], S.relabelConfigSchema],
];

for (const [name, keys, requiredKeys, schema] of pairs) {
  test(`${name}: TypeScript keys equal the schema's properties, required keys its required list`, () => {
    assert.deepEqual(props(schema), keys);
    assert.deepEqual(required(schema), requiredKeys);
    assert.equal((schema as Schema).additionalProperties, false);
  });
}

test('nested schemas are the ones the pairs check (no second, unchecked copy)', () => {
  assert.equal(branch(S.agentStatusSchema.properties.applied), S.appliedSchema);
  assert.equal(branch(S.agentStatusSchema.properties.lastResult), S.applyRecordSchema);
  const items = (s: unknown) => (s as { items: unknown }).items;
  assert.equal(items(S.agentStatusSchema.properties.recent), S.applyRecordSchema);
  assert.equal(S.agentReportSchema.properties.status, S.agentStatusSchema);
  assert.equal(items(S.flagsAnswerSchema.properties.flags), S.cardinalityFlagSchema);
  assert.equal(S.cardinalityFlagSchema.properties.fix, S.cardinalityFixSchema);
  assert.equal(items(S.cardinalityFixSchema.properties.rules), S.relabelConfigSchema);
  assert.equal(items(S.usageAnswerSchema.properties.jobs), S.usageJobSchema);
});

test('every string and array in the protocol schemas is bounded', () => {
  const unbounded: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (n.type === 'string' && n.maxLength === undefined) unbounded.push(path);
    if (n.type === 'array' && n.maxItems === undefined) unbounded.push(path);
    for (const [k, v] of Object.entries(n)) walk(v, `${path}/${k}`);
  };
  for (const [name, schema] of Object.entries(S)) walk(schema, name);
  assert.deepEqual(unbounded, []);
});

test('the validator names the first offending place, drops unknown keys, and refuses hostile shapes', () => {
  assert.deepEqual(validateProtocol('flags', { flags: [null] }), { ok: false, error: 'flags.flags[0]: must be object' });
  assert.deepEqual(validateProtocol('status', null), { ok: false, error: 'status: must be object' });
  const bad = validateProtocol('apply', { result: 'pwned', shard: 's', revision: 'r', hash: 'h' });
  assert.equal(bad.ok, false);
  assert.match((bad as { error: string }).error, /^apply\.result: must be equal to one of the allowed values \("applied", /);
  assert.deepEqual(validateProtocol('usage', { measuredAt: null, headSeries: null, jobs: [], extra: { huge: 'x'.repeat(1000) } }), { ok: true, value: { measuredAt: null, headSeries: null, jobs: [] } });
  assert.equal(validateProtocol('usage', { measuredAt: null, headSeries: '12', jobs: [] }).ok, false);
  assert.equal(validateProtocol('usage', { measuredAt: null, headSeries: null, jobs: Array.from({ length: 100_001 }, () => ({ job: 'j', series: 1, targets: 1 })) }).ok, false);
  assert.equal(validateProtocol('register', { shard: 'a', replica: 'b', url: 'http://x', nested: JSON.parse('['.repeat(5000) + ']'.repeat(5000)) }).ok, true);
  const long = validateProtocol('report', { shard: 'a', replica: 'b', url: 'http://x', status: { shard: 'a'.repeat(500) } });
  assert.equal(long.ok, false);
  assert.ok((long as { error: string }).error.length <= 300);
});
