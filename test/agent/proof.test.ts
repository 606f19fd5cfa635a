// The reload proof in the steady state: a Prometheus process that passed the full proof
// (/api/v1/status/config compared with the written file) is proven on later applies from its identity,
// its --config.file flag and the written files being untouched (shard-agent/process-proof.ts). These
// tests hold the cheap proof to what the full one protects against: Prometheus reading another file,
// and another writer racing the agent. Real Prometheus, real agent, real files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { externalLabelsKey } from '../../shard-agent/process-proof.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { configWithJobs, makeDoc, SHARD, startFixture, TOKEN, type Fixture } from './helpers.ts';

/** The `proof` of every "reload proven" log line, and the reasons the cheap proof gave up, in order. */
function proofs(logs: string[]): { proofs: string[]; fallbacks: string[] } {
  const parsed = logs.map((l) => JSON.parse(l) as { msg?: string; proof?: string; reason?: string });
  return {
    proofs: parsed.filter((l) => l.msg === 'configuration applied and reload proven').map((l) => String(l.proof)),
    fallbacks: parsed.filter((l) => l.msg === 'reload proven through /api/v1/status/config').map((l) => String(l.reason)),
  };
}

describe('reload proof on the same Prometheus process (real Prometheus)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('proves the first apply by /api/v1/status/config, the next ones by the same process, and a restarted Prometheus by /api/v1/status/config again', async () => {
    const fx: Fixture = await startFixture();
    cleanups.push(() => fx.close());
    const apply = async (rev: string, gen: number, jobs: Record<string, string[]>) => (await fx.post('/v1/apply', makeDoc(rev, gen, configWithJobs(jobs)))).body.result;
    assert.equal(await apply('rev-1', 1, { a: ['127.0.0.1:1'] }), 'applied');
    assert.equal(await apply('rev-2', 2, { b: ['127.0.0.1:2'] }), 'applied');
    assert.equal(await apply('rev-3', 3, { c: ['127.0.0.1:3'] }), 'applied');
    await fx.prometheus.restart();
    assert.equal(await apply('rev-4', 4, { d: ['127.0.0.1:4'] }), 'applied');
    assert.equal(await apply('rev-5', 5, { e: ['127.0.0.1:5'] }), 'applied');
    assert.deepEqual(proofs(fx.logs).proofs, ['status-config', 'same-process', 'same-process', 'status-config', 'same-process']);
    assert.equal((await fx.get('/v1/status')).body.applied.verified, true);
  });

  it('a racing writer that replaces the file after the rename is caught: the full proof runs and the apply is rolled back', async () => {
    let race: (() => void) | undefined;
    const fx: Fixture = await startFixture({ testAfterWrite: () => race?.() });
    cleanups.push(() => fx.close());
    assert.equal((await fx.post('/v1/apply', makeDoc('rev-1', 1, configWithJobs({ a: ['127.0.0.1:1'] })))).body.result, 'applied');

    // Another writer replaces prometheus.yml (atomically, as a careful tool would) between the agent's
    // rename and its reload: Prometheus loads the intruder's file, successfully.
    race = () => {
      writeFileSync(`${fx.configFile}.other`, configWithJobs({ intruder: ['127.0.0.1:9'] }));
      renameSync(`${fx.configFile}.other`, fx.configFile);
    };
    const replaced = await fx.post('/v1/apply', makeDoc('rev-2', 2, configWithJobs({ b: ['127.0.0.1:2'] })));
    assert.equal(replaced.body.result, 'rolled-back', JSON.stringify(replaced.body));
    assert.match(replaced.body.error, /does not run the written configuration/);

    // The same writer editing the file in place (same inode) is caught too.
    race = undefined;
    assert.equal((await fx.post('/v1/apply', makeDoc('rev-3', 3, configWithJobs({ c: ['127.0.0.1:3'] })))).body.result, 'applied');
    race = () => writeFileSync(fx.configFile, configWithJobs({ x: ['127.0.0.1:4'] }));
    const edited = await fx.post('/v1/apply', makeDoc('rev-4', 4, configWithJobs({ d: ['127.0.0.1:4'] })));
    assert.equal(edited.body.result, 'rolled-back', JSON.stringify(edited.body));

    const { fallbacks } = proofs(fx.logs);
    assert.ok(fallbacks.some((r) => /was replaced by another file after the agent wrote it/.test(r)), fallbacks.join('\n'));
    assert.ok(fallbacks.some((r) => /was modified after the agent wrote it/.test(r)), fallbacks.join('\n'));
  });

  it('Prometheus reading another file (wrong --config.file) is caught on every apply, even after a full proof passed by coincidence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-proof-'));
    const ours = join(dir, 'prometheus.yml');
    const theirs = join(dir, 'elsewhere.yml');
    writeFileSync(ours, configWithJobs({}));
    writeFileSync(theirs, configWithJobs({}));
    const prometheus: RunningPrometheus = await startPrometheus({ configFile: theirs, dir });
    const logs: string[] = [];
    let copy = false;
    const agent: RunningAgent = await startAgent({
      shard: SHARD,
      replica: 'a',
      prometheusUrl: prometheus.url,
      configFile: ours,
      stateDir: join(dir, 'state'),
      token: TOKEN,
      reloadTimeoutMs: 5000,
      defaultMetrics: false,
      logWrite: (l) => logs.push(l),
      // Someone keeps Prometheus's file equal to the agent's, once: the full proof passes.
      testAfterWrite: () => {
        if (copy) writeFileSync(theirs, configWithJobs({ a: ['127.0.0.1:1'] }));
      },
    });
    cleanups.push(async () => {
      await agent.close();
      await prometheus.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    copy = true;
    assert.equal((await agent.apply(makeDoc('rev-1', 1, configWithJobs({ a: ['127.0.0.1:1'] })))).body.result, 'applied');
    copy = false;
    const second = await agent.apply(makeDoc('rev-2', 2, configWithJobs({ b: ['127.0.0.1:2'] })));
    assert.equal(second.body.result, 'rolled-back', JSON.stringify(second.body));
    assert.match(second.body.error ?? '', /does not run the written configuration/);
    assert.ok(proofs(logs).fallbacks.some((r) => r.includes(`Prometheus reads --config.file=${theirs}, not ${ours}`)), proofs(logs).fallbacks.join('\n'));
  });

  it('a --config.file that is a symlink to the agent file counts as the agent file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-proof-'));
    const ours = join(dir, 'prometheus.yml');
    writeFileSync(ours, configWithJobs({}));
    symlinkSync(ours, join(dir, 'link.yml'));
    const prometheus = await startPrometheus({ configFile: join(dir, 'link.yml'), dir });
    const logs: string[] = [];
    const agent = await startAgent({ shard: SHARD, replica: 'a', prometheusUrl: prometheus.url, configFile: ours, stateDir: join(dir, 'state'), token: TOKEN, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: (l) => logs.push(l) });
    cleanups.push(async () => {
      await agent.close();
      await prometheus.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal((await agent.apply(makeDoc('rev-1', 1, configWithJobs({ a: ['127.0.0.1:1'] })))).body.result, 'applied');
    assert.equal((await agent.apply(makeDoc('rev-2', 2, configWithJobs({ b: ['127.0.0.1:2'] })))).body.result, 'applied');
    assert.deepEqual(proofs(logs).proofs, ['status-config', 'same-process']);
  });

  it('the replica reference is proven by /api/v1/status/config on each process, and again whenever the external labels change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-proof-'));
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, configWithJobs({}));
    const prometheus = await startPrometheus({ configFile, dir, extraArgs: ['--enable-feature=expand-external-labels'], env: { PROMSHARD_REPLICA: 'b' } });
    const logs: string[] = [];
    const agent = await startAgent({ shard: SHARD, replica: 'b', prometheusUrl: prometheus.url, configFile, stateDir: join(dir, 'state'), token: TOKEN, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: (l) => logs.push(l) });
    cleanups.push(async () => {
      await agent.close();
      await prometheus.destroy();
      rmSync(dir, { recursive: true, force: true });
    });
    const labels = (extra: string) => `  external_labels:\n    replica: "\${PROMSHARD_REPLICA}"${extra}\n`;
    const withLabels = (extra: string, job: string) => configWithJobs({ [job]: ['127.0.0.1:1'] }, labels(extra).trimEnd());
    for (const [rev, extra, job] of [['r1', '', 'a'], ['r2', '', 'b'], ['r3', '\n    env: prod', 'c'], ['r4', '\n    env: prod', 'd']] as const) {
      const res = await agent.apply(makeDoc(rev, Number(rev.slice(1)), withLabels(extra, job)));
      assert.equal(res.body.result, 'applied', JSON.stringify(res.body));
    }
    // r3 changes the external labels: proven by /api/v1/status/config again, on the same process.
    assert.deepEqual(proofs(logs).proofs, ['status-config', 'same-process', 'status-config', 'same-process']);
  });

  it('a Prometheus replaced on the same port by another one reading another file (holding what the first last ran) is caught: the full proof runs and the apply is rolled back', async () => {
    const fx: Fixture = await startFixture();
    cleanups.push(() => fx.close());
    const apply = async (rev: string, gen: number, jobs: Record<string, string[]>) => (await fx.post('/v1/apply', makeDoc(rev, gen, configWithJobs(jobs)))).body;
    assert.equal((await apply('rev-1', 1, { a: ['127.0.0.1:1'] })).result, 'applied');
    assert.equal((await apply('rev-2', 2, { b: ['127.0.0.1:2'] })).result, 'applied');
    await fx.prometheus.stop();
    const otherDir = mkdtempSync(join(tmpdir(), 'promshard-agent-proof-other-'));
    const other = await startPrometheus({ configFile: join(otherDir, 'prometheus.yml'), config: readFileSync(fx.configFile, 'utf8'), dir: otherDir, port: fx.prometheus.port });
    cleanups.push(async () => {
      await other.destroy();
      rmSync(otherDir, { recursive: true, force: true });
    });
    const res = await apply('rev-3', 3, { c: ['127.0.0.1:3'] });
    assert.equal(res.result, 'rolled-back', JSON.stringify(res));
    assert.match(res.error, /does not run the written configuration/);
    assert.deepEqual(proofs(fx.logs).proofs, ['status-config', 'same-process']);
  });

  it('a --config.file read that failed once is tried again: the same-process proof resumes on the next apply', async () => {
    const fx: Fixture = await startFixture();
    cleanups.push(() => fx.close());
    // In front of the real Prometheus: the first /api/v1/status/flags is answered 503 (Prometheus busy).
    let flagsFailed = false;
    const proxy = createServer((req, res) => {
      if (req.url === '/api/v1/status/flags' && !flagsFailed) {
        flagsFailed = true;
        res.writeHead(503).end('busy');
        return;
      }
      const upstream = httpRequest(`${fx.prometheus.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    cleanups.push(async () => {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    });
    const logs: string[] = [];
    const agent = await startAgent({ shard: SHARD, replica: 'a', prometheusUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, configFile: fx.configFile, stateDir: join(fx.dir, 'state-proxy'), token: TOKEN, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: (l) => logs.push(l) });
    try {
      await fx.agent.close();
      for (const [rev, job] of [['r1', 'a'], ['r2', 'b'], ['r3', 'c']] as const) {
        assert.equal((await agent.apply(makeDoc(rev, Number(rev.slice(1)), configWithJobs({ [job]: ['127.0.0.1:1'] })))).body.result, 'applied');
      }
      assert.ok(flagsFailed);
      const p = proofs(logs);
      assert.deepEqual(p.proofs, ['status-config', 'status-config', 'same-process'], JSON.stringify(p.fallbacks));
    } finally {
      await agent.close();
    }
  });

  it('with --reload signal (SIGHUP answers nothing), every apply is proven by /api/v1/status/config, and a refused one is rolled back', async () => {
    const fx: Fixture = await startFixture({ reload: { kind: 'signal' }, promtool: null });
    cleanups.push(() => fx.close());
    // The fixture's agent signals no one; one on the same files signals this Prometheus.
    await fx.agent.close();
    const logs: string[] = [];
    const agent = await startAgent({ shard: SHARD, replica: 'a', prometheusUrl: fx.prometheus.url, configFile: fx.configFile, stateDir: join(fx.dir, 'state-signal'), token: TOKEN, reloadTimeoutMs: 5000, defaultMetrics: false, logWrite: (l) => logs.push(l), reload: { kind: 'signal', pid: fx.prometheus.process.pid } });
    try {
      for (const [rev, job] of [['r1', 'a'], ['r2', 'b'], ['r3', 'c']] as const) {
        assert.equal((await agent.apply(makeDoc(rev, Number(rev.slice(1)), configWithJobs({ [job]: ['127.0.0.1:1'] })))).body.result, 'applied');
      }
      assert.deepEqual(proofs(logs).proofs, ['status-config', 'status-config', 'status-config']);
      const refused = await agent.apply(makeDoc('r4', 4, configWithJobs({ d: ['127.0.0.1:1'] }, '  query_log_file: /nonexistent/dir/q.log')));
      assert.equal(refused.body.result, 'rolled-back', JSON.stringify(refused.body));
      assert.match(readFileSync(fx.configFile, 'utf8'), /job_name: c/);
    } finally {
      await agent.close();
    }
  });
});

describe('externalLabelsKey', () => {
  it('is empty when nothing can be expanded, the global block when it holds a reference, null when the block cannot be isolated', () => {
    assert.equal(externalLabelsKey('global:\n  scrape_interval: 1s\nscrape_configs: []\n'), '');
    // `$` outside global (relabelling's $1) cannot change the external labels.
    assert.equal(externalLabelsKey('global:\n  external_labels: {a: b}\nscrape_configs:\n  - job_name: x\n    relabel_configs: [{replacement: $1}]\n'), '');
    const g = 'global:\n  external_labels:\n    # the replica\n    replica: "${PROMSHARD_REPLICA}"\n';
    assert.equal(externalLabelsKey(`${g}scrape_configs: []\n`), g.trimEnd());
    // An alias could bring text (and a reference) from elsewhere in the file.
    assert.equal(externalLabelsKey('x: &l {replica: "${R}"}\nglobal:\n  external_labels: *l\n'), null);
    assert.equal(externalLabelsKey('scrape_configs: []\nrelabel: $1\n'), null);
  });
});
