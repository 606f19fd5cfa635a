// End to end through the real pipeline: team file → compiler → rendered document → agent → real
// Prometheus scraping a real exporter → analyzer flag naming the team and file → the suggested fix
// pasted into the team file → `promshard validate` passes → re-applied → the flag goes away.
// The second test does the same for a second offender on a job that already has
// metric_relabel_configs (the first offender's fix and a rule of the team's own): the suggestion is
// the job's whole resulting list, it pastes over the existing key, and Prometheus ends with exactly
// the residual the agent predicted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { startExporter, line, family, fakeUuid, healthyServiceBody, type Exporter } from '../support/exporters.ts';
import { CHECKOUT_1S_SHARDS_YAML, writeRepository } from '../support/repo-fixture.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { readRepositoryFromDirectory } from '../../core/repository/repository-source.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { writeFileSync } from 'node:fs';

const BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));
const teamFile = (offender: string, healthy: string, fix = '') => `team: payments
shard: checkout
jobs:
  - name: checkout-api
    targets: ["${offender}"]
${fix}  - name: web
    targets: ["${healthy}"]
`;

let prom: RunningPrometheus | undefined;
let agent: RunningAgent | undefined;
const exporters: Exporter[] = [];
const dirs: string[] = [];
after(async () => {
  await agent?.close();
  await prom?.destroy();
  for (const e of exporters) await e.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function renderDocument(repo: string, generation: number) {
  const c = compileRepository(readRepositoryFromDirectory(repo), { rules: ALL_RULES });
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  return buildShardDocuments(c.model!, { revision: `rev-${generation}`, generation, committedAt: new Date().toISOString() }).get('checkout')!;
}

async function analyseUntil(predicate: (flags: { job: string; label: string }[]) => boolean, timeoutMs = 30_000, on = agent!) {
  const deadline = Date.now() + timeoutMs;
  let flags = on.analyzer!.flags();
  while (Date.now() < deadline) {
    await on.analyzer!.runCycle();
    flags = on.analyzer!.flags();
    if (predicate(flags)) return flags;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return flags;
}

test('a UUID offender is flagged with its team and file; its fix validates and clears the flag', async () => {
  const offender = await startExporter((n) =>
    family('checkout_requests_total', 'counter', Array.from({ length: 2000 }, (_, i) => line('checkout_requests_total', { request_id: fakeUuid(i + n * 7) }, 1))),
  );
  const healthy = await startExporter(() => healthyServiceBody());
  exporters.push(offender, healthy);
  const repo = writeRepository({ 'shards.yaml': CHECKOUT_1S_SHARDS_YAML, 'teams/payments/checkout.yaml': teamFile(offender.target, healthy.target) });
  dirs.push(repo);

  prom = await startPrometheus();
  const state = mkdtempSync(join(tmpdir(), 'promshard-agent-state-'));
  dirs.push(state);
  agent = await startAgent({ shard: 'checkout', replica: 'r1', prometheusUrl: prom.url, configFile: prom.configFile, stateDir: state, token: 'test-token-123456', cardinality: { intervalMs: 3_600_000, initialDelayMs: 3_600_000 } });

  const first = await agent.apply(renderDocument(repo, 1));
  assert.equal(first.body.result, 'applied', JSON.stringify(first.body));

  const flags = await analyseUntil((f) => f.some((x) => x.label === 'request_id'));
  const flag = agent.analyzer!.flags().find((f) => f.label === 'request_id');
  assert.ok(flag, `expected a request_id flag, got ${JSON.stringify(flags.map((f) => `${f.job}/${f.label}`))}`);
  assert.equal(flag.job, 'checkout-api');
  assert.equal(flag.team, 'payments');
  assert.equal(flag.file, 'teams/payments/checkout.yaml');
  assert.equal(flag.line, 4);
  assert.equal(flag.pattern, 'uuid');
  assert.ok(!agent.analyzer!.flags().some((f) => f.job === 'web'), 'the healthy job is not flagged');

  // Paste the snippet into the job, as its doc says, and run the real CLI validator.
  const snippet = flag.fix.snippet.replace(/^/gm, '    ') + '\n';
  assert.ok(parse(flag.fix.snippet).metric_relabel_configs, 'the snippet is a metric_relabel_configs block');
  writeFileSync(join(repo, 'teams/payments/checkout.yaml'), teamFile(offender.target, healthy.target, snippet));
  const v = spawnSync('node', [BIN, 'validate', '--repo', repo], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);

  const second = await agent.apply(renderDocument(repo, 2));
  assert.equal(second.body.result, 'applied', JSON.stringify(second.body));
  const cleared = await analyseUntil((f) => !f.some((x) => x.label === 'request_id'));
  assert.ok(!cleared.some((f) => f.label === 'request_id'), 'the flag goes away after the fix');

  // The agent serves what the controller and `plan` read: per-job series and targets.
  const usage = await (await fetch(`${agent.url}/v1/usage`, { headers: { authorization: 'Bearer test-token-123456' } })).json();
  assert.ok(usage.jobs.some((j: { job: string; targets: number }) => j.job === 'web' && j.targets === 1), JSON.stringify(usage));
});

test('a second offender on a job with metric_relabel_configs: the fix is the whole list, pastes over the key, validates and clears', async () => {
  // Several shapes of URL-like values, several ids in each, some with query strings.
  const paths = (i: number) =>
    [
      `/api/users/${48213 + i}/orders/${99812 + i}`,
      `/v2/tenants/${fakeUuid(i)}/buckets/${(0x5f3a9c7e12 + i * 7919).toString(16)}/objects/${i}`,
      `/search/${i}?q=term${i}&page=${i % 9}`,
    ][i % 3]!;
  const exporter = await startExporter(() =>
    family('checkout_requests_total', 'counter', Array.from({ length: 600 }, (_, i) => line('checkout_requests_total', { request_id: fakeUuid(i), method: i % 2 ? 'GET' : 'POST' }, 1))) +
    family('checkout_http_requests_total', 'counter', Array.from({ length: 1500 }, (_, i) => line('checkout_http_requests_total', { path: paths(i), code: i % 5 ? '200' : '404' }, 1))),
  );
  exporters.push(exporter);
  // The job already runs the first offender's fix and a rule of the team's own.
  const ownRules = `    metric_relabel_configs:
      # the first offender, fixed last week
      - action: labeldrop
        regex: request_id
      - source_labels: [__name__]
        regex: go_gc_.*
        action: drop
`;
  const file = (rules: string) => `team: payments
shard: checkout
jobs:
  - name: checkout-api
    targets: ["${exporter.target}"]
${rules}  - name: other
    targets: ["127.0.0.1:1"]
`;
  const repo = writeRepository({ 'shards.yaml': CHECKOUT_1S_SHARDS_YAML, 'teams/payments/checkout.yaml': file(ownRules) });
  dirs.push(repo);
  const prom2 = await startPrometheus();
  const state = mkdtempSync(join(tmpdir(), 'promshard-agent-state-'));
  dirs.push(state);
  const agent2 = await startAgent({ shard: 'checkout', replica: 'r1', prometheusUrl: prom2.url, configFile: prom2.configFile, stateDir: state, token: 'test-token-123456', cardinality: { intervalMs: 3_600_000, initialDelayMs: 3_600_000 } });
  try {
    assert.equal((await agent2.apply(renderDocument(repo, 1))).body.result, 'applied');
    await analyseUntil((f) => f.some((x) => x.label === 'path'), 30_000, agent2);
    const flag = agent2.analyzer!.flags().find((f) => f.label === 'path');
    assert.ok(flag, JSON.stringify(agent2.analyzer!.flags().map((f) => f.id)));
    assert.ok(!agent2.analyzer!.flags().some((f) => f.label === 'request_id'), 'the first offender stays fixed');
    const fix = flag.fix;
    assert.equal(fix.kind, 'replace');
    assert.equal(fix.complete, true, fix.note);
    assert.equal(fix.valuesExamined, 1500);
    assert.equal(fix.existingRules, 2);
    // The job's own rules come first, unchanged and in order; no rule it runs is offered again.
    assert.deepEqual(fix.resultingRules.slice(0, 2), [
      { regex: 'request_id', action: 'labeldrop' },
      { source_labels: ['__name__'], regex: 'go_gc_.*', action: 'drop' },
    ]);
    assert.ok(!fix.rules.some((r) => r.action === 'labeldrop' || r.action === 'drop'));
    const pasted = parse(fix.snippet) as { metric_relabel_configs: unknown[] };
    assert.deepEqual(pasted.metric_relabel_configs, fix.resultingRules);

    // Paste: the snippet replaces the job's metric_relabel_configs key (one key, not two).
    const indented = fix.snippet.replace(/^(?=.)/gm, '    ');
    writeFileSync(join(repo, 'teams/payments/checkout.yaml'), file(indented));
    const v = spawnSync('node', [BIN, 'validate', '--repo', repo], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stdout + v.stderr + '\n--- pasted:\n' + indented);

    assert.equal((await agent2.apply(renderDocument(repo, 2))).body.result, 'applied');
    const left = await analyseUntil((f) => !f.some((x) => x.label === 'path'), 30_000, agent2);
    assert.ok(!left.some((x) => x.label === 'path'), `the flag stays: ${JSON.stringify(left.find((x) => x.label === 'path')?.fix)}`);
    assert.ok(!left.some((x) => x.label === 'request_id'));
    // Prometheus ends with exactly the residual the agent simulated (same RE2, same expansion).
    const res = await fetch(`${prom2.url}/api/v1/query?query=${encodeURIComponent('count(count by (path) (checkout_http_requests_total{job="checkout-api"}))')}`).then((r) => r.json() as Promise<{ data: { result: { value: [number, string] }[] } }>);
    assert.equal(Number(res.data.result[0]?.value[1]), fix.residualValues);
    assert.equal(fix.residualValues, 3);
  } finally {
    await agent2.close();
    await prom2.destroy();
  }
});
