// Per-agent credentials (issue 10, item 6): each agent holds a credential derived from the
// controller's secret and scoped to its shard and replica. A compromised agent host holds only its own:
// it cannot act as another replica towards the controller, nor towards another agent, and it cannot
// force a document. A real controller, real agents and real HTTP on loopback; the force test applies
// to a real Prometheus.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { adminTokenDigest, deriveAgentToken, matchesDigest, verifyAgentToken, type AgentScope } from '../../core/http/agent-credential.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { configWithJobs, makeDoc, startFixture, type Fixture } from '../agent/helpers.ts';
import { PROMSHARD_BIN } from '../support/fleet.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { waitFor } from '../support/wait-for.ts';

const SECRET = 'credentials-test-agent-secret-4a1f';
const ADMIN = 'credentials-test-admin-token-77c2';
const cred = (shard: string, replica: string) => deriveAgentToken(SECRET, { shard, replica });

describe('agent credential derivation', () => {
  test('is stable, scoped to one shard and replica, and unambiguous', () => {
    // A known answer: the format is a contract between `promshard agent-token` runs and controllers.
    // (Checked by hand: printf 'promshard-agent-credential-v1\npsa1.bmV0d29ya2luZw.YQ' | openssl dgst -sha256 -hmac s3cret-of-test.)
    assert.equal(deriveAgentToken('s3cret-of-test', { shard: 'networking', replica: 'a' }), 'psa1.bmV0d29ya2luZw.YQ.24Gq7vSBB9hVi9unzny5-sqri3cec9QvAL-oJ-atlXs');
    assert.equal(cred('networking', 'a'), cred('networking', 'a'));
    const all = [cred('networking', 'a'), cred('networking', 'b'), cred('storage', 'a'), cred('a.b', 'c'), cred('a', 'b.c'), deriveAgentToken('another-secret-1234', { shard: 'networking', replica: 'a' })];
    assert.equal(new Set(all).size, all.length);
    assert.deepEqual(verifyAgentToken(cred('a.b', 'c'), SECRET), { shard: 'a.b', replica: 'c' });
    assert.deepEqual(verifyAgentToken(cred('a', 'b.c'), SECRET), { shard: 'a', replica: 'b.c' });
    assert.equal(verifyAgentToken(cred('networking', 'a'), 'another-secret-1234'), null);
    // Swapping the scope part of a valid token (same MAC) is refused.
    const [v, , , mac] = cred('networking', 'a').split('.');
    const [, shardB, replicaB] = cred('storage', 'b').split('.');
    assert.equal(verifyAgentToken(`${v}.${shardB}.${replicaB}.${mac}`, SECRET), null);
    for (const junk of ['', 'psa1', 'psa1...', 'psa2.bmV0d29ya2luZw.YQ.' + mac, cred('networking', 'a') + '.x']) assert.equal(verifyAgentToken(junk, SECRET), null, junk);
    assert.throws(() => deriveAgentToken(SECRET, { shard: '../x', replica: 'a' }), /shard/);
    assert.ok(matchesDigest(ADMIN, adminTokenDigest(ADMIN)));
    assert.ok(!matchesDigest(ADMIN + 'x', adminTokenDigest(ADMIN)));
  });

  test('promshard agent-token prints the credential, and --admin-digest the admin digest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-token-'));
    try {
      writeFileSync(join(dir, 'secret'), SECRET + '\n');
      writeFileSync(join(dir, 'admin'), ADMIN + '\n');
      const run = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
          execFile(process.execPath, [PROMSHARD_BIN, 'agent-token', ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
        );
      const ok = await run(['--shard', 'networking', '--replica', 'b', '--secret-file', join(dir, 'secret')]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, cred('networking', 'b') + '\n');
      const digest = await run(['--admin-digest', '--token-file', join(dir, 'admin')]);
      assert.equal(digest.stdout, adminTokenDigest(ADMIN) + '\n');
      const bad = await run(['--shard', 'net/working', '--replica', 'b', '--secret-file', join(dir, 'secret')]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--shard "net\/working" must be a name/);
      const missing = await run(['--shard', 'networking', '--secret-file', join(dir, 'secret')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /--replica is required/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A plain HTTP server on loopback that records every request (method, path, authorization). */
async function startRecorder(answer: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ url: string; seen: { path: string; auth: string | undefined }[]; close(): Promise<void> }> {
  const seen: { path: string; auth: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', auth: req.headers.authorization });
    answer(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('per-agent credentials between a real controller and real agents', () => {
  let dir: string;
  let repo: TestGitRepo;
  let controller: RunningController;
  const agents = new Map<string, RunningAgent>();
  const logs: string[] = [];
  const SCOPES: AgentScope[] = [
    { shard: 'networking', replica: 'a' },
    { shard: 'networking', replica: 'b' },
    { shard: 'storage', replica: 'a' },
  ];
  const key = (s: AgentScope) => `${s.shard}/${s.replica}`;

  const callController = async (path: string, token: string, body?: unknown) => {
    const res = await fetch(controller.url + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-agent-creds-'));
    repo = createGitRepo({
      'shards.yaml': 'defaults:\n  interval: 15s\n  timeout: 5s\nshards:\n  - name: networking\n    replicas: 2\n    budget: { max_series: 1000, max_targets: 10 }\n  - name: storage\n    replicas: 1\n    budget: { max_series: 1000, max_targets: 10 }\n',
      'teams/netops/routers.yaml': 'team: netops\nshard: networking\njobs:\n  - name: routers\n    targets: ["127.0.0.1:9101"]\n',
      'teams/storeops/disks.yaml': 'team: storeops\nshard: storage\njobs:\n  - name: disks\n    targets: ["127.0.0.1:9102"]\n',
    });
    repo.commit('fleet');
    controller = await startController({ repo: repo.dir, stateDir: join(dir, 'controller'), token: ADMIN, agentSecret: SECRET, webhookSecret: 'credentials-webhook-secret', pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, logWrite: (l) => logs.push(l) });
    // No Prometheus behind these agents: what is checked here is who may talk to whom.
    for (const s of SCOPES) {
      agents.set(
        key(s),
        await startAgent({ ...s, prometheusUrl: 'http://127.0.0.1:9', configFile: join(dir, key(s), 'prometheus.yml'), stateDir: join(dir, key(s), 'state'), token: cred(s.shard, s.replica), controllerUrl: controller.url, promtool: null, defaultMetrics: false, probeIntervalMs: 60_000, heartbeatMs: 60_000, pullIntervalMs: 60_000, backoffBaseMs: 100, backoffMaxMs: 500, logWrite: (l) => logs.push(l) }),
      );
    }
    await waitFor('every agent registered and reached by the controller', () => SCOPES.every((s) => controller.state.agents.get(s.shard, s.replica)?.reachable === true && controller.state.agents.get(s.shard, s.replica)?.status !== null));
  });
  after(async () => {
    for (const a of agents.values()) await a.close();
    await controller?.close();
    repo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every agent registered with its own credential, and the controller reaches each with that one', async () => {
    for (const s of SCOPES) {
      const rec = controller.state.agents.get(s.shard, s.replica)!;
      assert.equal(rec.url, agents.get(key(s))!.url);
      assert.equal(rec.lastError, null);
    }
  });

  test("a compromised agent cannot register as another shard's or replica's agent, nor move their addresses", async () => {
    const stolen = cred('networking', 'a');
    const evil = 'http://127.0.0.1:9/evil';
    for (const target of [{ shard: 'storage', replica: 'a' }, { shard: 'networking', replica: 'b' }]) {
      const before = controller.state.agents.get(target.shard, target.replica)!.url;
      const reg = await callController('/v1/agents/register', stolen, { ...target, url: evil });
      assert.equal(reg.status, 403, JSON.stringify(reg.body));
      assert.match(reg.body.error, new RegExp(`belongs to shard "networking" replica "a" and may not act for shard "${target.shard}" replica "${target.replica}"`));
      const report = await callController('/v1/agents/report', stolen, { ...target, url: evil, status: agents.get(key(target))!.status() });
      assert.equal(report.status, 403);
      assert.equal(controller.state.agents.get(target.shard, target.replica)!.url, before, 'address unchanged');
    }
    // A new replica name of another shard cannot be created either.
    const fresh = await callController('/v1/agents/register', stolen, { shard: 'storage', replica: 'z', url: evil });
    assert.equal(fresh.status, 403);
    assert.equal(controller.state.agents.get('storage', 'z'), undefined);
    // A credential made with another secret is no credential at all.
    const forged = await callController('/v1/agents/register', deriveAgentToken('not-the-controller-secret', { shard: 'storage', replica: 'a' }), { shard: 'storage', replica: 'a', url: evil });
    assert.equal(forged.status, 401);
  });

  test("a compromised agent cannot fetch another shard's or replica's desired document", async () => {
    const stolen = cred('networking', 'a');
    // Its own replica's document, if the rollout has one for it yet (these agents have no Prometheus).
    const own = await callController('/v1/agents/desired?shard=networking&replica=a', stolen);
    assert.ok(own.status === 200 || (own.status === 404 && /no desired document/.test(own.body.error)), JSON.stringify(own));
    for (const q of ['shard=storage&replica=a', 'shard=networking&replica=b', 'shard=networking']) {
      const r = await callController(`/v1/agents/desired?${q}`, stolen);
      assert.equal(r.status, 403, q);
      assert.match(r.body.error, /^forbidden: this credential belongs to shard "networking" replica "a"/);
    }
  });

  test('an agent started with another replica\'s credential is refused by the controller', async () => {
    const impostor = await startAgent({ shard: 'networking', replica: 'c', prometheusUrl: 'http://127.0.0.1:9', configFile: join(dir, 'impostor', 'prometheus.yml'), stateDir: join(dir, 'impostor', 'state'), token: cred('networking', 'b'), controllerUrl: controller.url, promtool: null, defaultMetrics: false, probeIntervalMs: 60_000, heartbeatMs: 60_000, backoffBaseMs: 50, backoffMaxMs: 100, logWrite: (l) => logs.push(l) });
    try {
      await waitFor('the impostor to be refused twice', () => logs.filter((l) => l.includes('"replica":"c"') && l.includes('controller registration failed') && l.includes('403: forbidden: this credential belongs to shard \\"networking\\" replica \\"b\\"')).length >= 2, 10_000);
      assert.equal(controller.state.agents.get('networking', 'c'), undefined);
    } finally {
      await impostor.close();
    }
  });

  test('the credential the controller presents to agent A is refused by agent B', async () => {
    // Register a recorder as a new replica with its own credential (the test holds the secret): the
    // controller asks it for its status at once, presenting the credential it presents to that replica.
    const recorder = await startRecorder((_req, res) => res.writeHead(503).end());
    try {
      const scope = { shard: 'networking', replica: 'rec' };
      const reg = await callController('/v1/agents/register', cred(scope.shard, scope.replica), { ...scope, url: recorder.url });
      assert.equal(reg.status, 200);
      await waitFor('the controller to call the recorder', () => recorder.seen.some((s) => s.path === '/v1/status'));
      const presented = recorder.seen.find((s) => s.path === '/v1/status')!.auth!.replace(/^Bearer /, '');
      assert.equal(presented, cred(scope.shard, scope.replica), 'the controller presents that replica its own credential');
      assert.ok(!recorder.seen.some((s) => s.auth?.includes(ADMIN)), 'never the admin token');
      // And what the controller shows agent networking/a is refused by networking/b and storage/a.
      const shownToA = cred('networking', 'a');
      for (const other of ['networking/b', 'storage/a']) {
        const url = agents.get(other)!.url;
        for (const [method, path] of [['GET', '/v1/status'], ['GET', '/v1/flags'], ['GET', '/v1/usage'], ['POST', '/v1/apply'], ['POST', '/v1/cardinality/analyze']] as const) {
          const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${shownToA}`, 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
          await res.arrayBuffer();
          assert.equal(res.status, 401, `${method} ${path} at ${other}`);
        }
      }
      const own = await fetch(agents.get('networking/a')!.url + '/v1/status', { headers: { authorization: `Bearer ${shownToA}` } });
      assert.equal(own.status, 200);
      await own.arrayBuffer();
    } finally {
      await recorder.close();
    }
  });

  test('the controller never follows a redirect with an agent credential', async () => {
    const elsewhere = await startRecorder((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    const redirector = await startRecorder((req, res) => res.writeHead(307, { location: elsewhere.url + (req.url ?? '/') }).end());
    try {
      const scope = { shard: 'networking', replica: 'redir' };
      assert.equal((await callController('/v1/agents/register', cred(scope.shard, scope.replica), { ...scope, url: redirector.url })).status, 200);
      await waitFor('the controller to call the redirector', () => redirector.seen.some((s) => s.path === '/v1/status'));
      await controller.reconcileNow();
      await waitFor('the replica to be marked unreachable', () => controller.state.agents.get(scope.shard, scope.replica)?.reachable === false);
      assert.match(controller.state.agents.get(scope.shard, scope.replica)!.lastError ?? '', /307/);
      assert.deepEqual(elsewhere.seen, [], 'nothing, and no credential, reached the redirect target');
    } finally {
      await redirector.close();
      await elsewhere.close();
    }
  });

  test('the per-agent mode logs no shared-token warning, and no credential reaches a log line', () => {
    const all = logs.join('\n');
    assert.doesNotMatch(all, /legacy mode/);
    for (const s of SCOPES) assert.ok(!all.includes(cred(s.shard, s.replica).split('.')[3]!), `credential of ${key(s)} logged`);
    assert.ok(!all.includes(SECRET));
  });
});

describe('static agents', () => {
  test("a registration, even with the replica's own credential, does not move an --agents-file address", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-static-'));
    const repo = createGitRepo({ 'shards.yaml': 'shards:\n  - name: networking\n    replicas: 1\n    budget: { max_series: 1000, max_targets: 10 }\n' });
    repo.commit('fleet');
    const logs: string[] = [];
    const configured = 'http://127.0.0.1:9/configured';
    const controller = await startController({ repo: repo.dir, stateDir: join(dir, 'controller'), token: ADMIN, agentSecret: SECRET, agents: [{ shard: 'networking', replica: 's', url: configured }], webhookSecret: 'static-webhook-secret', pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, logWrite: (l) => logs.push(l) });
    try {
      const body = { shard: 'networking', replica: 's', url: 'http://127.0.0.1:9/elsewhere' };
      const res = await fetch(`${controller.url}/v1/agents/register`, { method: 'POST', headers: { authorization: `Bearer ${cred('networking', 's')}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal(controller.state.agents.get('networking', 's')!.url, configured);
      assert.match(logs.join('\n'), /a static agent registered with another address; keeping the configured one/);
    } finally {
      await controller.close();
      repo.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('legacy shared-token mode', () => {
  test('still works, and warns at start-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-legacy-'));
    const repo = createGitRepo({ 'shards.yaml': 'shards:\n  - name: networking\n    replicas: 1\n    budget: { max_series: 1000, max_targets: 10 }\n' });
    repo.commit('fleet');
    for (const [i, [opts, warning]] of ([[{ agentToken: 'legacy-shared-agent-token' }, /agents share one token \(legacy mode\)/], [{}, /agents use the admin token \(legacy mode\)/]] as const).entries()) {
      const logs: string[] = [];
      const controller = await startController({ repo: repo.dir, stateDir: join(dir, `controller-${i}`), token: ADMIN, ...opts, webhookSecret: 'legacy-webhook-secret', pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, logWrite: (l) => logs.push(l) });
      try {
        assert.match(logs.join('\n'), warning);
        const shared = 'agentToken' in opts ? opts.agentToken : ADMIN;
        const res = await fetch(`${controller.url}/v1/agents/desired?shard=networking&replica=a`, { headers: { authorization: `Bearer ${shared}` } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      } finally {
        await controller.close();
      }
    }
    await assert.rejects(startController({ repo: repo.dir, stateDir: join(dir, 'both'), token: ADMIN, agentToken: 'legacy-shared-agent-token', agentSecret: SECRET, webhookSecret: 'x-webhook-secret', pollMs: 0, defaultMetrics: false, logWrite: () => undefined }), /not both/);
    repo.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('force needs the admin token (real Prometheus)', () => {
  let fx: Fixture;
  const own = cred('networking', 'a');
  before(async () => {
    fx = await startFixture({ token: own, adminTokenSha256: adminTokenDigest(ADMIN) });
  });
  after(async () => {
    await fx?.close();
  });

  test('the agent credential cannot pin a replica with a forced push of a huge sequence; the admin can force', async () => {
    const first = await fx.post('/v1/apply', makeDoc('rev-1', 1, configWithJobs({ one: ['127.0.0.1:9'] })), { token: own });
    assert.equal(first.body.result, 'applied', JSON.stringify(first.body));
    const pin = makeDoc('rev-pin', Number.MAX_SAFE_INTEGER, configWithJobs({ pinned: ['127.0.0.1:9'] }));
    for (const q of ['force=true', 'force=1', 'force=TRUE']) {
      const forced = await fx.post(`/v1/apply?${q}`, pin, { token: own });
      assert.equal(forced.status, 403, q);
      assert.match(forced.body.error, /needs the admin token/);
    }
    // Another agent's credential is no credential here at all.
    assert.equal((await fx.post('/v1/apply?force=true', pin, { token: cred('networking', 'b') })).status, 401);
    assert.equal((await fx.post('/v1/apply', pin, { token: cred('storage', 'a') })).status, 401);
    assert.equal(fx.agent.status().applied?.revision, 'rev-1', 'not pinned');
    // The next revision still goes through with the agent's own credential.
    const second = await fx.post('/v1/apply', makeDoc('rev-2', 2, configWithJobs({ two: ['127.0.0.1:9'] })), { token: own });
    assert.equal(second.body.result, 'applied', JSON.stringify(second.body));
    // The admin (known to the agent only by the digest) may roll back on purpose.
    const rollback = await fx.post('/v1/apply?force=true', makeDoc('rev-1', 1, configWithJobs({ one: ['127.0.0.1:9'] })), { token: ADMIN });
    assert.equal(rollback.body.result, 'applied', JSON.stringify(rollback.body));
    assert.equal(fx.agent.status().applied?.revision, 'rev-1');
  });
});
