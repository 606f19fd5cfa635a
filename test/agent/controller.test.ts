// The pull path and status reports. The HTTP server below is a tiny stand-in for the central
// controller, which is built separately (central-controller/); it speaks the same wire contract
// (core/protocol/agent-api.ts) over real HTTP on loopback.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import type { DesiredDocument } from '../../core/document/desired-document.ts';
import type { AgentRegistration, AgentReport } from '../../core/protocol/agent-api.ts';
import { DropOldestQueue } from '../../shard-agent/report-queue.ts';
import { freePort } from '../support/prometheus.ts';
import { configWithJobs, makeDoc, metricValue, SHARD, startFixture, TOKEN, waitFor, type Fixture } from './helpers.ts';

const CONTROLLER_TOKEN = 'controller-token-8d1e0b44';

interface FakeController {
  url: string;
  desired: DesiredDocument | null;
  registrations: AgentRegistration[];
  reports: AgentReport[];
  pulls: number;
  unauthorized: number;
  close(): Promise<void>;
}

async function startFakeController(port = 0): Promise<FakeController> {
  const fake: FakeController = { url: '', desired: null, registrations: [], reports: [], pulls: 0, unauthorized: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.headers.authorization !== `Bearer ${CONTROLLER_TOKEN}`) {
        fake.unauthorized++;
        return send(401, { error: 'unauthorized' });
      }
      const url = new URL(req.url!, 'http://x');
      if (req.method === 'POST' && url.pathname === '/v1/agents/register') {
        fake.registrations.push(JSON.parse(body));
        return send(200, { ok: true });
      }
      if (req.method === 'POST' && url.pathname === '/v1/agents/report') {
        fake.reports.push(JSON.parse(body));
        return send(200, { ok: true });
      }
      if (req.method === 'GET' && url.pathname === '/v1/agents/desired') {
        fake.pulls++;
        assert.equal(url.searchParams.get('shard'), SHARD);
        assert.equal(url.searchParams.get('replica'), 'a');
        return fake.desired ? send(200, fake.desired) : send(404, { error: 'no desired document' });
      }
      send(404, { error: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  fake.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return fake;
}

describe('agent and controller', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('pulls its desired document at start and again when it changes, and reports', async () => {
    const controller = await startFakeController();
    cleanups.push(() => controller.close());
    controller.desired = makeDoc('rev-pulled', 7, configWithJobs({ pulled: ['127.0.0.1:1'] }));
    const fx: Fixture = await startFixture({ controllerUrl: controller.url, controllerToken: CONTROLLER_TOKEN, pullIntervalMs: 300, heartbeatMs: 200 });
    cleanups.push(() => fx.close());

    const status = await waitFor('pulled document applied', async () => {
      const s = (await fx.get('/v1/status')).body;
      return s.applied?.revision === 'rev-pulled' && s.applied.verified && s;
    });
    assert.equal(status.lastResult.result, 'applied');
    assert.deepEqual(controller.registrations, [{ shard: SHARD, replica: 'a', url: fx.agent.url }]);
    await waitFor('a report naming the applied revision', async () => controller.reports.some((r) => r.status.applied?.revision === 'rev-pulled'));
    assert.equal(controller.unauthorized, 0);

    controller.desired = makeDoc('rev-pulled-2', 8, configWithJobs({ pulled: ['127.0.0.1:1'], second: ['127.0.0.1:2'] }));
    await waitFor('second pulled document applied', async () => (await fx.get('/v1/status')).body.applied?.revision === 'rev-pulled-2');
    const pullsNow = controller.pulls;
    await waitFor('more pulls', async () => controller.pulls > pullsNow + 1);
    // Unchanged hash: no re-apply on every pull.
    const applied = metricValue((await fx.get('/metrics', null)).text, 'promshard_agent_applies_total', { result: 'applied' });
    assert.equal(applied, 2);
  });

  it('keeps running with the controller down, retries with backoff, drops the oldest reports, and recovers', async () => {
    const port = await freePort();
    const fx: Fixture = await startFixture({
      controllerUrl: `http://127.0.0.1:${port}`,
      controllerToken: CONTROLLER_TOKEN,
      pullIntervalMs: 300,
      heartbeatMs: 40,
      reportQueueSize: 3,
      backoffBaseMs: 50,
      backoffMaxMs: 200,
    });
    cleanups.push(() => fx.close());

    await waitFor('reports dropped', async () => (metricValue((await fx.get('/metrics', null)).text, 'promshard_agent_reports_dropped_total') ?? 0) >= 5, 10000, 100);
    const m = (await fx.get('/metrics', null)).text;
    assert.ok(metricValue(m, 'promshard_agent_controller_errors_total', { operation: 'register' })! >= 3, m);
    assert.equal(metricValue(m, 'promshard_agent_report_queue_length'), 3);

    // Reporting is stuck, yet a push applies at once.
    const started = Date.now();
    const res = await fx.post('/v1/apply', makeDoc('rev-pushed', 1, configWithJobs({ pushed: ['127.0.0.1:1'] })));
    assert.equal(res.body.result, 'applied');
    assert.ok(Date.now() - started < 3000, 'apply not blocked by reporting');

    // Several heartbeats later the 3-slot queue holds only reports taken after that apply.
    await new Promise((r) => setTimeout(r, 400));

    // The controller comes up on the address the agent keeps retrying.
    const controller = await startFakeController(port);
    cleanups.push(() => controller.close());
    controller.desired = makeDoc('rev-from-controller', 2, configWithJobs({ fromController: ['127.0.0.1:1'] }));
    await waitFor('registered and converged', async () => controller.registrations.length > 0 && (await fx.get('/v1/status')).body.applied?.revision === 'rev-from-controller', 10000, 100);
    await waitFor('reports delivered', async () => controller.reports.length >= 3);
    // The queue kept the newest reports: the oldest (taken before the push, applied: null) were dropped.
    assert.ok(controller.reports.every((r) => r.status.applied !== null), `only reports newer than the push survived: ${JSON.stringify(controller.reports.map((r) => r.status.applied?.revision ?? null))}`);
  });

  it('drop-oldest queue keeps the newest items and counts drops', () => {
    let dropped = 0;
    const q = new DropOldestQueue<number>(3, (n) => (dropped += n));
    for (let i = 1; i <= 5; i++) q.push(i);
    assert.equal(q.length, 3);
    assert.equal(q.peek(), 3);
    assert.equal(dropped, 2);
    assert.equal(q.dropped, 2);
  });

  it('sends the controller token, never the agent token, and logs neither', async () => {
    // Covered by the fake controller counting unauthorized calls above; here the logs are checked.
    const controller = await startFakeController();
    cleanups.push(() => controller.close());
    const fx: Fixture = await startFixture({ controllerUrl: controller.url, controllerToken: CONTROLLER_TOKEN, heartbeatMs: 50 });
    cleanups.push(() => fx.close());
    await waitFor('reports', async () => controller.reports.length >= 2);
    assert.equal(controller.unauthorized, 0);
    const all = fx.logs.join('\n');
    assert.ok(!all.includes(TOKEN) && !all.includes(CONTROLLER_TOKEN), 'no token in logs');
  });
});
