// Prometheus down during a push: the agent writes anyway, answers 202 written-unverified, and proves
// the configuration as soon as Prometheus answers again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { configWithJobs, makeDoc, metricValue, startFixture, waitFor, type Fixture } from './helpers.ts';

describe('agent with Prometheus down', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture({ promtool: null });
  });
  after(async () => fx?.close());

  it('writes unverified, then verifies once Prometheus is back', async () => {
    const a = await fx.post('/v1/apply', makeDoc('rev-a', 1, configWithJobs({ a: ['127.0.0.1:1'] })));
    assert.equal(a.body.result, 'applied');

    await fx.prometheus.stop();
    const configB = configWithJobs({ b: ['127.0.0.1:2'] });
    const b = await fx.post('/v1/apply', makeDoc('rev-b', 2, configB));
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.equal(b.body.result, 'written-unverified');
    assert.match(b.body.error, /unreachable/);
    assert.equal(readFileSync(fx.configFile, 'utf8'), configB);
    let status = (await fx.get('/v1/status')).body;
    assert.deepEqual([status.applied.revision, status.applied.verified, status.prometheusReachable], ['rev-b', false, false]);
    let m = (await fx.get('/metrics', null)).text;
    assert.equal(metricValue(m, 'promshard_agent_applied_verified'), 0);
    assert.equal(metricValue(m, 'promshard_agent_prometheus_up'), 0);
    assert.equal(metricValue(m, 'promshard_agent_applies_total', { result: 'written-unverified' }), 1);

    // The same document again while still down: still honest about it.
    const again = await fx.post('/v1/apply', makeDoc('rev-b', 2, configB));
    assert.deepEqual([again.status, again.body.result], [202, 'written-unverified']);

    await fx.prometheus.restart();
    status = await waitFor('verified', async () => {
      const s = (await fx.get('/v1/status')).body;
      return s.applied.verified && s;
    }, 10000, 100);
    assert.equal(status.applied.revision, 'rev-b');
    assert.equal(status.prometheusReachable, true);
    assert.equal(status.lastResult.result, 'applied');
    m = (await fx.get('/metrics', null)).text;
    assert.equal(metricValue(m, 'promshard_agent_applied_verified'), 1);
    assert.equal(metricValue(m, 'promshard_agent_prometheus_up'), 1);
    const loaded = (await (await fetch(`${fx.prometheus.url}/api/v1/status/config`)).json()) as { data: { yaml: string } };
    assert.match(loaded.data.yaml, /job_name: b/);
  });
});
