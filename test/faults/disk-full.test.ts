// Disk full while applying. A real full disk needs root mounts; this uses what any CI user has: the
// agent process runs under a file-size limit (`ulimit -f`), so writing a file past the limit fails with
// EFBIG exactly where ENOSPC would fail — mid-write, after earlier small writes succeeded. Node ignores
// SIGXFSZ, so the process lives and sees the error. Invariants: nothing Prometheus reads changes,
// Prometheus keeps running the previous configuration, the agent answers an ApplyResponse (so the
// controller knows the agent is reachable and the document was not taken) and stays alive, and a
// document that fits is applied afterwards.
//
// Regression: with promtool enabled, the first write to fail was the promtool scratch copy, outside the
// pipeline's error handling: the agent answered 500 {"error":"internal error"}, which the controller
// classifies as "agent unreachable".
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configWithJobs, makeDoc, TOKEN } from '../agent/helpers.ts';
import { configKey } from '../support/config-semantics.ts';
import { killAllChildren, stablePort, startAgentProcess, writeSecret } from '../support/fleet.ts';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';

const LIMIT_KIB = 64;

describe(`agent under a ${LIMIT_KIB} KiB file-size limit (disk full)`, { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let dir: string;
  let prometheus: RunningPrometheus;
  const small = configWithJobs({ small: ['127.0.0.1:9'] });
  const bigJobs: Record<string, string[]> = {};
  for (let i = 0; i < 2500; i++) bigJobs[`job_${i}`] = [`127.0.0.1:${10000 + i}`];
  const big = configWithJobs(bigJobs);

  before(async () => {
    assert.ok(big.length > LIMIT_KIB * 1024 * 1.5, `the big configuration (${big.length} bytes) exceeds the limit`);
    dir = mkdtempSync(join(tmpdir(), 'promshard-diskfull-'));
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

  for (const promtool of [true, false]) {
    it(`${promtool ? 'with promtool (its scratch copy or the staged config file fails first)' : 'without promtool (the staged config file fails)'}: nothing changes, the answer says why, the agent lives`, async () => {
      const { proc, url } = await startAgentProcess({
        shard: 'networking',
        replica: 'a',
        port: await stablePort(),
        prometheusUrl: prometheus.url,
        configFile: join(dir, 'prometheus.yml'),
        stateDir: join(dir, `state-${promtool}`),
        tokenFile: join(dir, 'token'),
        flags: [...(promtool ? ['--promtool-syntax-only'] : ['--promtool', 'none']), '--reload-timeout', '5s'],
        spawn: { shellPrefix: `ulimit -f ${LIMIT_KIB};` },
      });
      try {
        const first = await call(url, '/v1/apply', makeDoc(`small-${promtool}`, promtool ? 1 : 10, small));
        assert.equal(first.status, 200, JSON.stringify(first.body));
        const statusBefore = (await call(url, '/v1/status')).body.applied;
        const fileBefore = readFileSync(join(dir, 'prometheus.yml'), 'utf8');
        const loadedBefore = configKey(await loaded());

        const r = await call(url, '/v1/apply', makeDoc(`big-${promtool}`, promtool ? 2 : 11, big));
        assert.equal(r.status, 500, JSON.stringify(r.body));
        // With promtool, whichever write fails first decides: the check's scratch copy when promtool
        // starts afresh (rejected), the staged config file when a waiting promtool reads through a FIFO,
        // which the file-size limit does not cover (rolled-back, as without promtool).
        assert.ok((promtool ? ['rejected', 'rolled-back'] : ['rolled-back']).includes(r.body.result), `an ApplyResponse, not an opaque error: ${JSON.stringify(r.body)}`);
        assert.match(r.body.error, /EFBIG|file too large/);
        assert.equal(r.body.revision, `big-${promtool}`);

        assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), fileBefore, 'the config file is unchanged');
        assert.equal(configKey(await loaded()), loadedBefore, 'Prometheus runs the previous configuration');
        assert.deepEqual((await call(url, '/v1/status')).body.applied, statusBefore, 'the applied state is unchanged');
        assert.ok(proc.alive(), 'the agent survived');
        assert.equal((await fetch(`${url}/healthz`)).status, 200);

        const next = await call(url, '/v1/apply', makeDoc(`small2-${promtool}`, promtool ? 3 : 12, configWithJobs({ small: ['127.0.0.1:9'], other: ['127.0.0.1:8'] })));
        assert.equal(next.status, 200, `a document that fits is applied afterwards: ${JSON.stringify(next.body)}`);
        assert.equal(next.body.result, 'applied');
      } finally {
        await proc.kill('SIGTERM');
      }
    });
  }
});
