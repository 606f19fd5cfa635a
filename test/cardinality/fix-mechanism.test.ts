// The fix mechanism without Prometheus: path rules computed from all values, every id segment
// normalised whatever its position, shape or count, the residual simulated with Prometheus's
// semantics, and no rule offered twice. fix-through-team-file.test.ts checks the same against a real
// Prometheus and a real team file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RE2JS } from 're2js';
import { planFix, buildFix, validateRules } from '../../shard-agent/cardinality/fix-suggestion.ts';
import { planPathRules, idPositions, MAX_PATH_RULES } from '../../shard-agent/cardinality/path-normalisation.ts';
import { expandTemplate, simulateRules, compileRuleForLabel } from '../../shard-agent/cardinality/relabel-simulation.ts';
import { metricRelabelRulesByJob, normaliseRule, sameRule } from '../../core/relabel/job-relabel-rules.ts';
import { parse } from 'yaml';

const hex = (i: number, n: number) => (BigInt(i) * 2654435761n + 0xabcdefn).toString(16).padStart(n, '0').slice(-n);
const ulid = (i: number) => `01H${String(i).padStart(8, '0')}ABCDEFGHJKMNPQRS`.slice(0, 26);

/** Shapes of high-cardinality URL-like values, each with its expected normal form. */
const SHAPES: [string, (i: number) => string, string][] = [
  ['two numeric ids', (i) => `/api/users/${48213 + i}/orders/${99812 + i}`, '/api/users/:id/orders/:id'],
  ['uuid, hex and number', (i) => `/v2/tenants/${randomUUID()}/buckets/${hex(i, 16)}/objects/${i}`, '/v2/tenants/:id/buckets/:id/objects/:id'],
  ['ulid then query string', (i) => `/files/${ulid(i)}/download?token=${hex(i, 12)}&page=${i % 7}`, '/files/:id/download'],
  ['sha and short number', (i) => `/repos/acme/web/commits/${hex(i, 40)}/checks/${i % 500}`, '/repos/acme/web/commits/:id/checks/:id'],
  ['absolute URL with a port', (i) => `https://shop.example.com:8443/cart/order-${100000 + i}.json#top`, 'https://shop.example.com:8443/cart/:id'],
  ['ids back to back', (i) => `/a/${i}/${i + 7}/${hex(i, 8)}/b`, '/a/:id/:id/:id/b'],
  ['e-mail and date', (i) => `/users/u${i}@example.com/reports/2024-05-${String((i % 28) + 1).padStart(2, '0')}`, '/users/:id/reports/:id'],
];

test('every id segment is normalised, whatever the shape, position and number of ids (mixed on one label)', async () => {
  const values = SHAPES.flatMap(([, make]) => Array.from({ length: 400 }, (_, i) => make(i)));
  const plan = await planFix({ label: 'path', selector: '{job="x"}', values, existing: [] });
  assert.equal(plan.kind, 'replace');
  validateRules(plan.rules);
  assert.deepEqual(new Set(plan.residual), new Set(SHAPES.map(([, , normal]) => normal)));
  assert.equal(plan.valuesExamined, values.length);
  // Each shape alone also comes out whole (rules depend on the data, not on the other shapes).
  for (const [name, make, normal] of SHAPES) {
    const p = await planFix({ label: 'path', selector: '{job="x"}', values: Array.from({ length: 50 }, (_, i) => make(i)), existing: [] });
    assert.deepEqual(p.residual, [normal], name);
  }
});

test('the rules are idempotent: running the resulting list again changes nothing', async () => {
  const values = SHAPES.flatMap(([, make]) => Array.from({ length: 50 }, (_, i) => make(i)));
  const plan = await planFix({ label: 'path', selector: '{job="x"}', values, existing: [] });
  const twice = await simulateRules('path', plan.rules, plan.residual);
  assert.equal(twice.changed, 0);
});

test('the regression: the old single-rule fix left the first id; the fix now adds only what is missing', async () => {
  // What the head holds after the old suggestion (last id only) was applied.
  const oldRule = { source_labels: ['path'], regex: '(.*/)(?:[0-9]+)(/.*|[?#].*)?', target_label: 'path', replacement: '${1}:id${2}', action: 'replace' };
  const live = Array.from({ length: 300 }, (_, i) => `/api/users/${48213 + i}/orders/:id`);
  const plan = await planFix({ label: 'path', selector: '{job="x"}', values: live, existing: [oldRule] });
  assert.equal(plan.rules.length, 1);
  assert.deepEqual(plan.residual, ['/api/users/:id/orders/:id']);
  assert.ok(!plan.rules.some((r) => sameRule(r, oldRule)));
  // Offered again on the values after the fix: nothing path-related is left to add, and the rule
  // already present is never offered a second time.
  const again = await planFix({ label: 'path', selector: '{job="x"}', values: plan.residual, existing: [oldRule, ...plan.rules] });
  for (const r of again.rules) assert.ok(![oldRule, ...plan.rules].some((e) => sameRule(e, r)), JSON.stringify(r));
});

test('a rule the job already runs is left out; the snippet is the whole resulting list, existing rules first', async () => {
  const values = Array.from({ length: 200 }, (_, i) => `/api/users/${48213 + i}/orders/${99812 + i}`);
  const first = await planFix({ label: 'path', selector: '{job="x"}', values, existing: [] });
  const existing = [{ action: 'labeldrop', regex: 'request_id' }, first.rules[0]!];
  const plan = await planFix({ label: 'path', selector: '{job="x"}', values, existing });
  assert.equal(plan.rules.length, first.rules.length - 1);
  assert.ok(!plan.rules.some((r) => sameRule(r, first.rules[0]!)));
  const fix = buildFix(plan, { job: 'x', metric: 'm', label: 'path', file: 'teams/a/x.yaml', line: 4, seriesBefore: 200, seriesAfter: 1, distinctValues: 200, complete: true, residualBar: 250 });
  const doc = parse(fix.snippet) as { metric_relabel_configs: unknown[] };
  assert.deepEqual(doc.metric_relabel_configs, [...existing, ...plan.rules]);
  assert.deepEqual(fix.resultingRules, [...existing, ...plan.rules]);
  assert.equal(fix.existingRules, 2);
  assert.match(fix.snippet, /REPLACE the job's metric_relabel_configs/);
});

test('a partial fix says so: residual values and the bar in the snippet and the note', async () => {
  // The numbers go; the session tokens (no digits: not recognisable as ids) stay.
  const token = (i: number) => `tok_${'abcdefghijklmnopqrstuvwxyz'[i % 26]}${'zyxwvutsrqponmlkjihgfedcba'[((i / 26) | 0) % 26]}q`;
  const values = Array.from({ length: 600 }, (_, i) => `/x/${48213 + i}/${token(i % 300)}`);
  const plan = await planFix({ label: 'path', selector: '{job="x"}', values, existing: [] });
  assert.equal(plan.kind, 'replace');
  assert.equal(plan.residual.length, 300);
  assert.match(plan.residual[0]!, /^\/x\/:id\/tok_/);
  const fix = buildFix(plan, { job: 'x', metric: 'm', label: 'path', file: 'teams/a/x.yaml', line: 4, seriesBefore: 600, seriesAfter: 300, distinctValues: 600, complete: false, residualBar: 250 });
  assert.equal(fix.complete, false);
  assert.equal(fix.residualValues, 300);
  assert.match(fix.snippet, /PARTIAL FIX: 300 distinct values of path remain .*above the bar of 250/);
  assert.match(fix.note, /PARTIAL: 300 distinct values would remain/);
  assert.ok(fix.residualExamples.length > 0);
});

test('labels that are not URL-like get a labeldrop with no residual', async () => {
  const plan = await planFix({ label: 'request_id', selector: '{job="x"}', values: Array.from({ length: 50 }, () => randomUUID()), existing: [] });
  assert.equal(plan.kind, 'labeldrop');
  assert.deepEqual(plan.rules, [{ action: 'labeldrop', regex: 'request_id' }]);
  assert.equal(plan.residual.length, 0);
});

test('positions: one rule per position, at most MAX_PATH_RULES, hosts are not ids', () => {
  assert.deepEqual(idPositions('/api/users/48213/orders/99812'), [3, 5]);
  assert.deepEqual(idPositions('https://10.0.0.1:8080/x/12'), [4]);
  assert.deepEqual(idPositions('/api/v1/health?since=12345'), []);
  const deep = '/' + Array.from({ length: 20 }, (_, i) => `${i}`).join('/');
  assert.equal(planPathRules('path', [deep]).rules.length, MAX_PATH_RULES);
  // A path rule and a URL rule for the same position never touch each other's values.
  const rules = planPathRules('path', ['/users/u1@example.com/x', 'https://shop.example.com:8443/cart/1']).rules;
  assert.equal(rules.length, 2);
});

test('the simulation follows Prometheus: anchored RE2, Go template expansion, empty result deletes', () => {
  const m = (re: string, v: string) => {
    const x = RE2JS.compile(`^(?:${re})$`).matcher(v);
    assert.ok(x.matches());
    return x;
  };
  assert.equal(expandTemplate('${1}:id${2}', m('(a)(b)', 'ab')), 'a:idb');
  assert.equal(expandTemplate('$1x', m('(a)', 'a')), ''); // the group named "1x": empty, as in Go
  assert.equal(expandTemplate('$$1 $', m('(a)', 'a')), '$1 $');
  assert.equal(expandTemplate('${name}-$9', m('(?P<name>a)', 'a')), 'a-');
  const rule = compileRuleForLabel('path', { source_labels: ['path'], regex: 'x.*', target_label: 'path', replacement: '' });
  assert.equal(rule.apply('xyz'), undefined);
  assert.equal(rule.apply('axyz'), 'axyz'); // anchored: no match, unchanged
  assert.throws(() => compileRuleForLabel('path', { source_labels: ['other'], target_label: 'path' }), /cannot simulate/);
});

test('the job rules Prometheus reports (defaults filled in) are read back as the team wrote them', () => {
  const yaml = `global: {}
scrape_configs:
- job_name: x
  metric_relabel_configs:
  - separator: ;
    regex: request_id
    replacement: $1
    action: labeldrop
  - source_labels: [a]
    separator: ;
    regex: (.*)
    target_label: b
    replacement: $1
    action: replace
- job_name: y
`;
  const rules = metricRelabelRulesByJob(yaml);
  assert.deepEqual(rules.get('x'), [
    { regex: 'request_id', action: 'labeldrop' },
    { source_labels: ['a'], target_label: 'b', action: 'replace' },
  ]);
  assert.deepEqual(rules.get('y'), []);
  assert.ok(sameRule({ action: 'labeldrop', regex: 'request_id' }, normaliseRule({ regex: 'request_id', separator: ';', action: 'labeldrop' })));
});
