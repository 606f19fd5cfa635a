// A malicious agent (issue 10, item 3): a real HTTP server on loopback, registered with the agent
// token, answers /v1/status, /v1/flags, /v1/usage and /v1/apply with malformed JSON of many kinds and
// sends malformed reports. The controller must stay up, its pages and API must answer 200, the agent
// must show faulty with the reason (and be counted), nothing it said may be kept, the other shard must
// keep rolling out, and all of it must hold again after a restart on the same state directory.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { allOnRevision, api, GitRepo, launchController, metricValue, newControllerPort, READ_TOKEN, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, TOKEN, waitFor, webhook, type Replica } from '../controller/helpers.ts';
import { browserAvailable, launchBrowser } from '../dashboard/helpers.ts';
import { prometheusInstalled } from '../support/prometheus.ts';

type Answer = { status?: number; body: string };
const json = (v: unknown): Answer => ({ body: JSON.stringify(v) });
const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** A fake agent for shard networking, replica a. `answers` says what each endpoint returns now. */
class MaliciousAgent {
  server!: Server;
  url = '';
  applied: { revision: string; generation: number; hash: string } | null = null;
  answers: Partial<Record<'status' | 'flags' | 'usage' | 'apply', Answer>> = {};
  calls: Record<string, number> = {};

  goodStatus(extra: Record<string, unknown> = {}) {
    return {
      shard: 'networking', replica: 'a', url: this.url,
      applied: this.applied ? { ...this.applied, appliedAt: new Date().toISOString(), verified: true } : null,
      lastResult: null, prometheusReachable: true, prometheusDownSince: null, applying: false, recent: [], flagCount: 2, ...extra,
    };
  }

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const endpoint = ({ '/v1/status': 'status', '/v1/flags': 'flags', '/v1/usage': 'usage', '/v1/apply': 'apply' } as Record<string, 'status' | 'flags' | 'usage' | 'apply'>)[req.url!.split('?')[0]!];
        this.calls[endpoint] = (this.calls[endpoint] ?? 0) + 1;
        let answer = endpoint ? this.answers[endpoint] : undefined;
        if (!answer && endpoint === 'apply') {
          // A well-behaved apply: take the document.
          const doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          this.applied = { revision: doc.revision, generation: doc.generation, hash: doc.hash };
          answer = json({ result: 'applied', shard: doc.shard, revision: doc.revision, hash: doc.hash });
        }
        answer ??= endpoint === 'status' ? json(this.goodStatus()) : endpoint === 'flags' ? json({ flags: [] }) : endpoint === 'usage' ? json({ measuredAt: null, headSeries: null, jobs: [] }) : { status: 404, body: '{}' };
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
  }

  async register(controllerUrl: string): Promise<number> {
    const res = await fetch(`${controllerUrl}/v1/agents/register`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ shard: 'networking', replica: 'a', url: this.url }) });
    await res.arrayBuffer();
    return res.status;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const BAD_KINDS: [string, (evil: MaliciousAgent, endpoint: 'status' | 'flags' | 'usage' | 'apply') => Answer][] = [
  ['null body', () => json(null)],
  ['an array of nulls', () => json([null, null, null])],
  ['not JSON', () => ({ body: '{"flags": [ {"id": ' })],
  ['missing fields', () => json({})],
  ['null entries', (_e, ep) => (ep === 'flags' ? json({ flags: [null, null] }) : ep === 'usage' ? json({ measuredAt: null, headSeries: null, jobs: [null] }) : ep === 'status' ? json({ ..._e.goodStatus(), recent: [null], applied: null }) : json({ result: null, shard: null, revision: null, hash: null }))],
  ['wrong types', (e, ep) => (ep === 'flags' ? json({ flags: { id: 1 } }) : ep === 'usage' ? json({ measuredAt: 5, headSeries: 'lots', jobs: 'x' }) : ep === 'status' ? json(e.goodStatus({ applied: { hash: 5, revision: [], generation: {}, appliedAt: 1, verified: 'yes' } })) : json({ result: 'applied', shard: 1, revision: {}, hash: [] }))],
  ['strings where numbers go', (e, ep) => (ep === 'status' ? json(e.goodStatus({ flagCount: '2' })) : ep === 'usage' ? json({ measuredAt: null, headSeries: '10', jobs: [{ job: 'x', series: '1e9', targets: '1' }] }) : ep === 'flags' ? json({ flags: [{ id: 'x', distinctValues: '9999' }] }) : json({ result: 'applied', shard: 'networking', revision: 'r', hash: 'h', reloadMs: '12' }))],
  ['deeply nested', (e, ep) => ({ body: ep === 'status' ? JSON.stringify(e.goodStatus()).replace('"recent":[]', `"recent":${deep(100_000)}`) : `{"flags":${deep(100_000)},"result":${deep(100_000)}}` })],
  ['huge', (e, ep) => (ep === 'flags' ? json({ flags: Array.from({ length: 20_000 }, () => ({ id: 'x' })) }) : json({ ...e.goodStatus(), result: 'applied', url: 'http://x/' + 'a'.repeat(20 * 1024 * 1024) }))],
  ['an unknown result', () => json({ result: 'owned', shard: 'networking', revision: 'r', hash: 'h' })],
];

const PAGES = ['/', '/shards/networking', '/shards/storage', '/teams', '/teams/netops', '/repository'];
const API = ['/v1/shards', '/v1/shards/networking', '/v1/agents', '/v1/flags', '/v1/series', '/v1/teams', '/v1/events', '/v1/repository'];

describe('a malicious agent cannot take the controller down', { skip: !prometheusInstalled() && 'needs prometheus' }, () => {
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let port: number;
  let storage: Replica;
  const evil = new MaliciousAgent();
  const logs: string[] = [];
  let liveFeed: AbortController;

  const everythingAnswers200 = async (why: string) => {
    for (const path of PAGES) {
      const res = await fetch(controller.url + path, { headers: { authorization: `Bearer ${READ_TOKEN}` } });
      await res.arrayBuffer();
      assert.equal(res.status, 200, `${why}: GET ${path}`);
    }
    for (const path of API) assert.equal((await api(controller.url, path, READ_TOKEN)).status, 200, `${why}: GET ${path}`);
    const metrics = await fetch(`${controller.url}/metrics`);
    await metrics.arrayBuffer();
    assert.equal(metrics.status, 200, `${why}: GET /metrics`);
  };
  const evilView = async () => (await api(controller.url, '/v1/agents', READ_TOKEN)).body.agents.find((a: any) => a.shard === 'networking' && a.replica === 'a');
  /** The dashboard's live feed runs the view signature every second: the path that crashed the process. */
  const openLiveFeed = () => {
    liveFeed = new AbortController();
    void fetch(`${controller.url}/dashboard/events`, { headers: { authorization: `Bearer ${READ_TOKEN}` }, signal: liveFeed.signal })
      .then((r) => r.body?.pipeTo(new WritableStream()))
      .catch(() => undefined);
  };

  before(async () => {
    repo = new GitRepo();
    repo.commit({
      'shards.yaml': SHARDS_YAML,
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }),
      'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201'] }),
    });
    stateDir = tempDir('promshard-evil-state-');
    port = await newControllerPort();
    await evil.start();
    storage = await startReplica('storage', 'a', `http://127.0.0.1:${port}`, logs);
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, reconcileMs: 60_000, statusTimeoutMs: 5000, usageRefreshMs: 1, canaryShard: 'storage' }, logs);
    assert.equal(await evil.register(controller.url), 200);
    await waitFor('the evil agent took the first document', () => evil.applied !== null, 10_000);
    openLiveFeed();
  });

  after(async () => {
    liveFeed?.abort();
    await controller?.close();
    await evil.close();
    if (storage) await stopReplica(storage);
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  for (const endpoint of ['flags', 'usage', 'status'] as const) {
    it(`answers to GET /v1/${endpoint} of every malformed kind mark the agent faulty and change nothing else`, async () => {
      for (const [kind, make] of BAD_KINDS) {
        evil.answers = { [endpoint]: make(evil, endpoint) };
        const before = await metricValue(controller.url, 'promshard_controller_agent_protocol_errors_total', { shard: 'networking', replica: 'a', endpoint });
        await controller.reconcileNow();
        const view = await evilView();
        assert.ok(view.faulty, `${endpoint}/${kind}: agent shows faulty`);
        assert.equal(view.faulty.endpoint, endpoint, `${endpoint}/${kind}`);
        assert.match(view.faulty.reason, new RegExp(`^(${endpoint}|answer)`), `${endpoint}/${kind}: ${view.faulty.reason}`);
        assert.equal(await metricValue(controller.url, 'promshard_controller_agent_protocol_errors_total', { shard: 'networking', replica: 'a', endpoint }), before + 1, `${endpoint}/${kind}: counted`);
        // Nothing of the answer was kept.
        if (endpoint === 'flags') assert.deepEqual((await api(controller.url, '/v1/flags', READ_TOKEN)).body.flags, []);
        if (endpoint === 'usage') assert.equal(controller.state.usage.has('networking/a'), false);
        if (endpoint === 'status') assert.equal(typeof controller.state.agents.get('networking', 'a')!.status?.flagCount, 'number');
        await everythingAnswers200(`${endpoint}/${kind}`);
      }
      // A correct answer clears the mark.
      evil.answers = {};
      await controller.reconcileNow();
      assert.equal((await evilView()).faulty, null);
    });
  }

  it('apply answers of every malformed kind mark the agent faulty while the other shard keeps rolling out', async () => {
    let n = 0;
    for (const [kind, make] of BAD_KINDS) {
      evil.answers = { apply: make(evil, 'apply') };
      n++;
      const sha = repo.commit({
        'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: [`127.0.0.1:${9300 + n}`] }),
        'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: [`127.0.0.1:${9400 + n}`] }),
      });
      assert.equal(await webhook(controller.url), 202);
      await waitFor(`${kind}: storage runs ${sha.slice(0, 8)}`, () => allOnRevision([storage], sha), 20_000);
      const view = await waitFor(`${kind}: the agent shows faulty for apply`, async () => {
        const v = await evilView();
        return v.faulty?.endpoint === 'apply' && v.lastPush?.revision === sha ? v : null;
      }, 10_000);
      assert.notEqual(view.applied?.revision, sha, `${kind}: a malformed apply answer proves nothing`);
      assert.notEqual(view.state, 'in-sync');
      await everythingAnswers200(`apply/${kind}`);
    }
    // A correct apply answer clears the mark (and the agent converges).
    evil.answers = {};
    const sha = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9399'] }) });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('the agent takes the next document', async () => (await evilView()).applied?.revision === sha, 20_000);
    assert.equal((await evilView()).faulty, null);
  });

  it('malformed reports are refused with 400, mark the agent faulty, and keep nothing', async () => {
    const statusBefore = JSON.stringify(controller.state.agents.get('networking', 'a')!.status);
    const reports: [string, string][] = [
      ['null status', JSON.stringify({ shard: 'networking', replica: 'a', url: evil.url, status: null })],
      ['status of nulls', JSON.stringify({ shard: 'networking', replica: 'a', url: evil.url, status: { ...evil.goodStatus(), recent: [null], flagCount: null } })],
      ['wrong types', JSON.stringify({ shard: 'networking', replica: 'a', url: evil.url, status: evil.goodStatus({ applied: { hash: 1 } }) })],
      ['deeply nested', `{"shard":"networking","replica":"a","url":"${evil.url}","status":${deep(50_000)}}`],
      ['huge array', JSON.stringify({ shard: 'networking', replica: 'a', url: evil.url, status: evil.goodStatus({ recent: Array.from({ length: 5000 }, () => ({})) }) })],
    ];
    for (const [kind, body] of reports) {
      const res = await fetch(`${controller.url}/v1/agents/report`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
      const answer = (await res.json()) as { error: string };
      assert.equal(res.status, 400, kind);
      assert.match(answer.error, /report does not fit the protocol: report\.status/, kind);
      const view = await evilView();
      assert.equal(view.faulty?.endpoint, 'report', kind);
      assert.equal(JSON.stringify(controller.state.agents.get('networking', 'a')!.status), statusBefore, `${kind}: nothing kept`);
      await everythingAnswers200(`report/${kind}`);
    }
    // A correct report clears it.
    const ok = await fetch(`${controller.url}/v1/agents/report`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ shard: 'networking', replica: 'a', url: evil.url, status: evil.goodStatus() }) });
    assert.equal(ok.status, 200);
    assert.equal((await evilView()).faulty, null);
  });

  it('the dashboard renders the faulty agent with its reason in a real browser', { skip: !browserAvailable() && 'needs /usr/bin/chromium' }, async () => {
    evil.answers = { status: json({ ...evil.goodStatus(), recent: [null] }) };
    await controller.runtime.pollStatus(controller.state.agents.get('networking', 'a')!);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      for (const path of ['/', '/shards/networking']) {
        const res = await page.goto(`${controller.url}${path}?token=${READ_TOKEN}`);
        assert.equal(res?.status(), 200, path);
        const row = page.locator('table.replicas tr[data-replica="a"]').filter({ hasText: 'faulty' }).first();
        await row.waitFor({ timeout: 5000 }).catch(async (err) => {
          throw new Error(`${path}: no faulty replica row; page text: ${(await page.locator('body').innerText()).slice(0, 3000)}`, { cause: err });
        });
        assert.match(await row.innerText(), /faulty[\s\S]*its status answer does not fit the protocol: status\.recent\[0\]: must be object/);
      }
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });

  it('after a restart on the same state directory, with the agent still malicious, everything still works', async () => {
    liveFeed.abort();
    await controller.close();
    evil.answers = { status: json(null), flags: json({ flags: [null] }), usage: { body: 'nope' } };
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, reconcileMs: 60_000, statusTimeoutMs: 5000, usageRefreshMs: 1, canaryShard: 'storage' }, logs);
    openLiveFeed();
    await controller.reconcileNow();
    await new Promise((r) => setTimeout(r, 1500)); // let the live feed's watch run over this state
    const view = await evilView();
    assert.deepEqual(view.faulty?.endpoints, ['flags', 'status', 'usage'].filter((e) => e !== 'flags' || view.faulty.endpoints.includes('flags')));
    await everythingAnswers200('after restart');
    // The other shard still rolls out.
    const sha = repo.commit({ 'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9499'] }) });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('storage runs the commit after the restart', () => allOnRevision([storage], sha), 20_000);
    // And the agent recovers as soon as it answers correctly.
    evil.answers = {};
    await controller.reconcileNow();
    assert.equal((await evilView()).faulty, null);
    await everythingAnswers200('recovered');
  });
});
