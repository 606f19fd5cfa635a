// Clock skew between the agent and Prometheus. The agent proves a reload partly by Prometheus's
// prometheus_config_last_reload_success_timestamp_seconds; that proof must not compare Prometheus's
// clock with the agent's. The agent process runs with its wall clock shifted (test/support/
// skewed-clock.mjs moves Date.now() and new Date(); the monotonic clock is untouched), two minutes
// ahead and two minutes behind.
//
// Regression: with the agent's clock ahead, the success timestamp was always "older than the write",
// so every apply was reported unproven and rolled back (and the rollback "not proven" either).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configWithJobs, makeDoc, TOKEN } from '../agent/helpers.ts';
import { configKey } from '../support/config-semantics.ts';
import { killAllChildren, stablePort, startAgentProcess, writeSecret } from '../support/fleet.ts';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';

const SKEWED_CLOCK = fileURLToPath(new URL('../support/skewed-clock.mjs', import.meta.url));

describe('agent clock skewed against Prometheus', { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let dir: string;
  let prometheus: RunningPrometheus;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-skew-'));
    writeFileSync(join(dir, 'prometheus.yml'), configWithJobs({}));
    writeSecret(dir, 'token', TOKEN);
    prometheus = await startPrometheus({ configFile: join(dir, 'prometheus.yml'), dir });
  });
  after(async () => {
    await killAllChildren();
    await prometheus?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const loaded = async () => ((await (await fetch(`${prometheus.url}/api/v1/status/config`)).json()) as { data: { yaml: string } }).data.yaml;
  const call = async (url: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, { method: body ? 'POST' : 'GET', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as any };
  };
  let seq = 0;

  for (const skewMs of [120_000, -120_000]) {
    it(`agent clock ${skewMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(skewMs) / 1000} s: applies are proven, a refused configuration is still rolled back, a pending one is verified when Prometheus returns`, async () => {
      const { proc, url } = await startAgentProcess({
        shard: 'networking',
        replica: 'a',
        port: await stablePort(),
        prometheusUrl: prometheus.url,
        configFile: join(dir, 'prometheus.yml'),
        stateDir: join(dir, `state${skewMs}`),
        tokenFile: join(dir, 'token'),
        flags: ['--reload-timeout', '3s', '--probe-interval', '200ms'],
        spawn: { nodeArgs: ['--import', SKEWED_CLOCK], env: { PROMSHARD_TEST_CLOCK_SKEW_MS: String(skewMs) } },
      });
      try {
        // The preload really moved the agent's clock.
        const st = await call(url, '/healthz');
        assert.equal(st.status, 200);
        const good = configWithJobs({ [`skew_${skewMs > 0 ? 'ahead' : 'behind'}`]: ['127.0.0.1:7'] });
        const r = await call(url, '/v1/apply', makeDoc(`good${skewMs}`, ++seq, good));
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.result, 'applied', JSON.stringify(r.body));
        const appliedAt = Date.parse((await call(url, '/v1/status')).body.applied.appliedAt);
        assert.ok(Math.abs(appliedAt - Date.now() - skewMs) < 30_000, `the agent's clock is skewed (appliedAt ${new Date(appliedAt).toISOString()})`);
        assert.equal(configKey(await loaded()), configKey(good));

        // promtool accepts it, Prometheus refuses it (query log in a directory that does not exist).
        const refused = configWithJobs({ refused: ['127.0.0.1:6'] }, `  query_log_file: ${join(dir, 'missing-dir', 'q.log')}`);
        const rb = await call(url, '/v1/apply', makeDoc(`bad${skewMs}`, ++seq, refused));
        assert.equal(rb.body.result, 'rolled-back', JSON.stringify(rb.body));
        assert.doesNotMatch(rb.body.error, /rollback reload was not proven/, 'the rollback itself is proven');
        assert.equal(configKey(await loaded()), configKey(good), 'Prometheus runs the previous configuration again');

        // Prometheus down: written, unverified; verified by the probe loop once it is back.
        await prometheus.stop();
        const later = configWithJobs({ later: ['127.0.0.1:5'] });
        const wu = await call(url, '/v1/apply', makeDoc(`later${skewMs}`, ++seq, later));
        assert.equal(wu.body.result, 'written-unverified', JSON.stringify(wu.body));
        await prometheus.restart();
        const deadline = Date.now() + 10_000;
        let applied: any;
        while (Date.now() < deadline) {
          applied = (await call(url, '/v1/status')).body.applied;
          if (applied?.verified) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        assert.equal(applied?.revision, `later${skewMs}`);
        assert.equal(applied?.verified, true, `verified after Prometheus returned: ${JSON.stringify(applied)}`);
      } finally {
        await proc.kill('SIGTERM');
      }
    });
  }
});
