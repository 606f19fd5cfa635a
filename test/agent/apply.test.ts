// The push path against a real Prometheus: apply, prove, roll back, and refuse bad requests without
// touching anything.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256Hex } from '../../core/document/desired-document.ts';
import { adminTokenDigest } from '../../core/http/agent-credential.ts';
import { activeTargets, configWithJobs, makeDoc, metricValue, startExporter, startFixture, TOKEN, waitFor, type Fixture } from './helpers.ts';

const ADMIN = 'agent-test-admin-token-1e4b7c';

describe('agent apply pipeline (real Prometheus)', () => {
  let fx: Fixture;
  let exporter: Awaited<ReturnType<typeof startExporter>>;
  let goodConfig: string;

  before(async () => {
    exporter = await startExporter();
    // The agent knows the admin token by its digest only; only the admin may force.
    fx = await startFixture({ maxBody: '64kb', adminTokenSha256: adminTokenDigest(ADMIN) });
    goodConfig = configWithJobs({ exporter: [exporter.hostPort] });
  });
  after(async () => {
    await fx?.close();
    await exporter?.close();
  });

  it('applies a pushed configuration and Prometheus scrapes the new target', async () => {
    const res = await fx.post('/v1/apply', makeDoc('rev-1', 1, goodConfig));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result, 'applied');
    assert.equal(readFileSync(fx.configFile, 'utf8'), goodConfig);
    // Prometheus syncs scrape pools on a 5 s ticker, so the target can take that long to appear.
    const target = await waitFor('exporter target up', async () => (await activeTargets(fx.prometheus.url)).find((t) => t.job === 'exporter' && t.health === 'up'), 15000, 200);
    assert.equal(target.instance, exporter.hostPort);
    const status = (await fx.get('/v1/status')).body;
    assert.deepEqual(
      { revision: status.applied.revision, verified: status.applied.verified, last: status.lastResult.result },
      { revision: 'rev-1', verified: true, last: 'applied' },
    );
  });

  it('answers unchanged for the same hash, recording a new revision', async () => {
    const res = await fx.post('/v1/apply', makeDoc('rev-1b', 2, goodConfig));
    assert.equal(res.status, 200);
    assert.equal(res.body.result, 'unchanged');
    const status = (await fx.get('/v1/status')).body;
    assert.equal(status.applied.revision, 'rev-1b');
    assert.equal(status.applied.generation, 2);
  });

  it('rolls back a configuration that promtool accepts but Prometheus refuses on reload', async () => {
    // query_log_file is only opened when the configuration is applied: promtool checks the syntax and
    // says SUCCESS, but Prometheus's reload fails ("can't create json logger: open ...: no such file
    // or directory") and answers 500. Prometheus 2.42 has by then already handed the new scrape
    // configuration to the scrape manager (reload is not transactional there), so without a rollback
    // it would scrape the new job while reporting last_reload_successful=0.
    const bad = configWithJobs({ intruder: ['127.0.0.1:1'] }, '  query_log_file: /nonexistent-promshard-dir/query.log');
    const res = await fx.post('/v1/apply', makeDoc('rev-bad', 3, bad));
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.result, 'rolled-back');
    assert.match(res.body.error, /failed to reload config/);
    assert.equal(readFileSync(fx.configFile, 'utf8'), goodConfig, 'previous file restored');

    const status = (await fx.get('/v1/status')).body;
    assert.equal(status.applied.revision, 'rev-1b');
    assert.equal(status.applied.verified, true, 'the rollback reload was proven');
    assert.equal(status.lastResult.result, 'rolled-back');
    assert.match(status.lastResult.error, /failed to reload config/);
    assert.equal(status.lastRefusedHash, makeDoc('rev-bad', 3, bad).hash);

    const metrics = await (await fetch(`${fx.prometheus.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'prometheus_config_last_reload_successful'), 1);
    const loaded = (await (await fetch(`${fx.prometheus.url}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    assert.match(loaded.data.yaml, /job_name: exporter/);
    assert.doesNotMatch(loaded.data.yaml, /intruder/);
    // Still scraping the old target, and not the refused one. The failed reload had briefly replaced
    // the scrape pools, so the restored job's target comes back on Prometheus's next 5 s target sync.
    const targets = await waitFor('exporter target back', async () => {
      const t = await activeTargets(fx.prometheus.url);
      return t.some((x) => x.job === 'exporter' && x.health === 'up') && !t.some((x) => x.job === 'intruder') && t;
    }, 15000, 200);
    assert.deepEqual(targets.map((t) => t.job), ['exporter']);
    const agentMetrics = (await fx.get('/metrics', null)).text;
    assert.equal(metricValue(agentMetrics, 'promshard_agent_applies_total', { result: 'rolled-back' }), 1);
  });

  it('rejects what promtool refuses (422) without touching the file', async () => {
    const before = readFileSync(fx.configFile);
    const dup = configWithJobs({ a: ['127.0.0.1:1'] }) + '  - job_name: a\n    static_configs: [{targets: ["127.0.0.1:2"]}]\n';
    const res = await fx.post('/v1/apply', makeDoc('rev-dup', 4, dup));
    assert.equal(res.status, 422);
    assert.equal(res.body.result, 'rejected');
    assert.match(res.body.error, /promtool check config failed: .*multiple scrape configs with job name "a"/s);
    assert.deepEqual(readFileSync(fx.configFile), before);
  });

  it('refuses bad requests with the right status and changes nothing', async () => {
    const configBefore = readFileSync(fx.configFile);
    const stateBefore = readFileSync(join(fx.stateDir, 'state.json'));
    const next = () => makeDoc('rev-x', 10, configWithJobs({ x: ['127.0.0.1:1'] }));

    const wrongSha = next();
    wrongSha.files[0].sha256 = sha256Hex('something else');
    const wrongHash = next();
    wrongHash.hash = sha256Hex('nope');
    const wrongShard = { ...next(), shard: 'storage' };
    const traversal = (p: string) => {
      const d = makeDoc('rev-x', 10, configWithJobs({}), [{ path: p, content: 'x' }]);
      return d;
    };
    const cases: [string, Promise<{ status: number; body: any }>, number][] = [
      ['wrong file sha256', fx.post('/v1/apply', wrongSha), 400],
      ['wrong document hash', fx.post('/v1/apply', wrongHash), 400],
      ['wrong shard', fx.post('/v1/apply', wrongShard), 400],
      ['../x', fx.post('/v1/apply', traversal('../x')), 400],
      ['/etc/x', fx.post('/v1/apply', traversal('/etc/x')), 400],
      ['a/../../x', fx.post('/v1/apply', traversal('a/../../x')), 400],
      ['stale revision', fx.post('/v1/apply', makeDoc('rev-old', 1, configWithJobs({ old: ['127.0.0.1:1'] }))), 409],
      ['missing token', fx.post('/v1/apply', next(), { token: null }), 401],
      ['wrong token', fx.post('/v1/apply', next(), { token: 'not-the-token-at-all' }), 401],
      ['oversized body', fx.post('/v1/apply', null, { raw: JSON.stringify({ ...next(), padding: 'x'.repeat(100 * 1024) }) }), 413],
      ['not JSON', fx.post('/v1/apply', null, { raw: '{"apiVersion":' }), 400],
    ];
    for (const [name, pending, want] of cases) {
      const res = await pending;
      assert.equal(res.status, want, `${name}: ${JSON.stringify(res.body)}`);
    }
    const stale = await fx.post('/v1/apply', makeDoc('rev-old', 1, configWithJobs({ old: ['127.0.0.1:1'] })));
    assert.equal(stale.body.result, 'rejected');
    assert.match(stale.body.error, /older than the applied revision rev-1b/);
    assert.deepEqual(readFileSync(fx.configFile), configBefore, 'config file unchanged');
    assert.deepEqual(readFileSync(join(fx.stateDir, 'state.json')), stateBefore, 'state unchanged');
    assert.ok(!existsSync(join(fx.dir, '..', 'x')), 'nothing written outside');
    assert.equal((await fx.get('/v1/status', null)).status, 401);
  });

  it('applies an older revision only with ?force=true, and multi-file documents', async () => {
    const rules = 'groups:\n  - name: demo\n    rules:\n      - record: demo:up\n        expr: demo_up\n';
    const withRules = configWithJobs({ exporter: [exporter.hostPort] }, '  evaluation_interval: 1s') + 'rule_files: [rules/demo.yml]\n';
    const res = await fx.post('/v1/apply?force=true', makeDoc('rev-rules', 1, withRules, [{ path: 'rules/demo.yml', content: rules }]), { token: ADMIN });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result, 'applied');
    assert.equal(readFileSync(join(fx.dir, 'rules', 'demo.yml'), 'utf8'), rules);
    const groups = (await (await fetch(`${fx.prometheus.url}/api/v1/rules`)).json()) as { data: { groups: { name: string }[] } };
    assert.deepEqual(groups.data.groups.map((g) => g.name), ['demo']);

    // A later document without the rule file removes it.
    const res2 = await fx.post('/v1/apply', makeDoc('rev-2', 5, goodConfig));
    assert.equal(res2.body.result, 'applied');
    assert.ok(!existsSync(join(fx.dir, 'rules', 'demo.yml')), 'rule file removed');
  });

  it('serves status, flags, metrics and health', async () => {
    assert.equal((await fx.get('/healthz', null)).status, 200);
    assert.deepEqual((await fx.get('/v1/flags')).body, { flags: [] });
    assert.deepEqual((await fx.post('/v1/cardinality/analyze', {})).body, { flags: [] });
    const status = (await fx.get('/v1/status')).body;
    assert.equal(status.shard, 'networking');
    assert.equal(status.flagCount, 0);
    assert.ok(status.recent.length > 3 && status.recent.length <= 20, `recent has ${status.recent.length}`);
    const m = (await fx.get('/metrics', null)).text;
    assert.equal(metricValue(m, 'promshard_agent_applied_revision_info', { revision: 'rev-2' }), 1);
    assert.equal(metricValue(m, 'promshard_agent_applied_generation'), 5);
    assert.equal(metricValue(m, 'promshard_agent_prometheus_up'), 1);
    assert.ok(metricValue(m, 'promshard_agent_applies_total', { result: 'applied' })! >= 3, m);
    assert.ok(metricValue(m, 'promshard_agent_applies_total', { result: 'rejected' })! >= 8, m);
    assert.ok(metricValue(m, 'promshard_agent_apply_duration_seconds_count')! >= 5, m);
    assert.ok(metricValue(m, 'promshard_agent_reload_duration_seconds_count')! >= 3, m);
    assert.ok(metricValue(m, 'promshard_agent_last_success_timestamp_seconds')! > Date.now() / 1000 - 60, m);
    assert.equal(metricValue(m, 'promshard_agent_reports_dropped_total'), 0);
  });

  it('never writes the token to its logs', () => {
    assert.ok(fx.logs.length > 5, 'logs were captured');
    const all = fx.logs.join('\n');
    assert.ok(!all.includes(TOKEN), 'token absent from logs');
    assert.ok(!all.includes('not-the-token-at-all'), 'wrong token absent from logs');
    for (const line of fx.logs) JSON.parse(line);
  });
});
