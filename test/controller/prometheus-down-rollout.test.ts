// A replica whose Prometheus is down while its agent answers (issue 11, item 1). Two cases, told apart
// by the agent, shown by the controller:
//   - Prometheus was already down before the document: the document cannot be to blame. The rollout
//     skips the replica and goes on to its partner; the agent proves the written files when its
//     Prometheus returns.
//   - Prometheus went down while it loaded the document: the document may be poisoned. The rollout
//     halts there and the partner keeps its configuration (`held`).
// Real Prometheus, real agents, real git, a real controller on loopback.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { prometheusInstalled, type RunningPrometheus } from '../support/prometheus.ts';
import { allOnRevision, api, GitRepo, launchController, newControllerPort, READ_TOKEN, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

const routers = (targets: string[]) => ({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: targets }) });

async function runningConfig(prometheusUrl: string): Promise<string> {
  const body = (await (await fetch(`${prometheusUrl}/api/v1/status/config`)).json()) as { data: { yaml: string } };
  return body.data.yaml;
}

/**
 * An HTTP hop between an agent and its Prometheus that can kill Prometheus (SIGKILL) the moment the
 * agent asks it to reload: Prometheus dies while it loads the document, as it would on a configuration
 * that runs it out of memory.
 */
async function startReloadKiller(): Promise<{ url: string; target: RunningPrometheus | null; armed: boolean; close(): Promise<void> }> {
  const hop = { url: '', target: null as RunningPrometheus | null, armed: false, close: async () => undefined as void };
  const server: Server = createServer(async (req, res) => {
    const target = hop.target;
    if (!target) return void res.writeHead(503).end();
    if (hop.armed && req.method === 'POST' && req.url === '/-/reload') {
      hop.armed = false;
      const exited = new Promise((r) => target.process.once('exit', r));
      target.process.kill('SIGKILL');
      await exited;
      return void req.socket.destroy();
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const upstream = await fetch(target.url + req.url, { method: req.method, headers: { 'accept-encoding': 'identity' }, body: chunks.length ? Buffer.concat(chunks) : undefined });
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain' });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      req.socket.destroy(); // Prometheus is down: the agent sees what it would see without the hop
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  hop.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  hop.close = () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return hop;
}

describe('a replica whose Prometheus is down (real Prometheus, agents, git)', { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let repo: GitRepo;
  let stateDir: string;
  let controller: RunningController;
  let a: Replica;
  let b: Replica;
  let killer: Awaited<ReturnType<typeof startReloadKiller>>;

  before(async () => {
    repo = new GitRepo();
    repo.commit({ 'shards.yaml': SHARDS_YAML, ...routers(['127.0.0.1:9101']) });
    stateDir = tempDir('promshard-ctl-promdown-');
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    killer = await startReloadKiller();
    // A short blame window, so that an outage a few seconds after a rollout is not pinned on it.
    a = await startReplica('networking', 'a', url, [], { outageBlameWindowMs: 1000, prometheusUrl: killer.url });
    killer.target = a.prometheus;
    b = await startReplica('networking', 'b', url, [], { outageBlameWindowMs: 1000 });
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, failureRetryBaseMs: 500, failureRetryMaxMs: 1000 });
    await waitFor('both replicas run the first revision', () => [a, b].every((r) => r.agent.status().applied?.verified && /9101/.test(readFileSync(r.configFile, 'utf8'))), 20_000);
  });
  after(async () => {
    await controller?.close();
    for (const r of [a, b]) if (r) await stopReplica(r);
    await killer?.close();
    repo?.destroy();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('already down before the document: the partner rolls on, the down replica is skipped and repaired when its Prometheus returns', async () => {
    await new Promise((r) => setTimeout(r, 1200)); // past the blame window of the first rollout
    await a.prometheus.stop();
    await waitFor("a's agent has seen its Prometheus down", () => a.agent.status().prometheusDownSince !== null, 10_000);
    const second = repo.commit(routers(['127.0.0.1:9102']));
    assert.equal(await webhook(controller.url), 202);

    await waitFor('b runs the new revision although a cannot prove it', () => b.agent.status().applied?.revision === second && b.agent.status().applied?.verified, 15_000);
    assert.match(await runningConfig(b.prometheus.url), /9102/);
    // a's agent wrote the files (it proves them later) and said why it could not prove them.
    assert.match(readFileSync(a.configFile, 'utf8'), /9102/);
    const answer = a.agent.status().recent.find((r) => r.revision === second);
    assert.equal(answer?.result, 'written-unverified');

    const shard = (await api(controller.url, '/v1/shards/networking')).body;
    const ra = shard.replicas.find((r: any) => r.replica === 'a');
    assert.equal(ra.state, 'prometheus-down', JSON.stringify(ra));
    assert.match(ra.reason, /already down|before this document/);
    assert.ok(ra.prometheusDownSince, 'the API says since when');
    assert.deepEqual(shard.rollout.skipped.map((x: any) => x.replica), ['a']);
    assert.notEqual(shard.rollout.status, 'failed');
    const events = (await api(controller.url, '/v1/events?limit=200')).body.events;
    const skipped = events.find((e: any) => e.type === 'replica-skipped' && e.replica === 'a' && e.revision === second);
    assert.ok(skipped, 'the timeline says the replica was skipped');
    assert.match(skipped.message, /already down/);
    assert.ok(!events.some((e: any) => e.type === 'rollout-failed' && e.revision === second), 'the rollout did not halt');
    const page = await (await fetch(`${controller.url}/shards/networking`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).text();
    assert.match(page, /data-replica="a" data-state="prometheus-down"/);

    await a.prometheus.restart();
    await waitFor("a's agent proves the written files once Prometheus answers", () => a.agent.status().applied?.revision === second && a.agent.status().applied?.verified, 15_000);
    assert.match(await runningConfig(a.prometheus.url), /9102/);
    await waitFor('the controller shows the shard in sync', async () => (await api(controller.url, '/v1/shards/networking')).body.inSync === true, 15_000);
  });

  it('went down while it loaded the document: the rollout halts, the partner is held, and both converge once it is back', async () => {
    await new Promise((r) => setTimeout(r, 1200));
    const bBefore = b.agent.status().applied!.revision;
    killer.armed = true; // Prometheus a dies when asked to load the next document
    const third = repo.commit(routers(['127.0.0.1:9103']));
    assert.equal(await webhook(controller.url), 202);

    const halted = await waitFor('the rollout halts at a', async () => {
      const s = (await api(controller.url, '/v1/shards/networking')).body;
      return s.rollout?.revision === third && s.rollout.status === 'failed' && s;
    }, 15_000);
    assert.equal(halted.rollout.failedReplica, 'a');
    assert.match(halted.rollout.haltReason, /went down during or right after this document/);
    const ra = halted.replicas.find((r: any) => r.replica === 'a');
    const rb = halted.replicas.find((r: any) => r.replica === 'b');
    assert.equal(ra.state, 'failed');
    assert.match(ra.error, /while this document .* was being loaded|may be what brought Prometheus down/);
    assert.equal(rb.state, 'held', JSON.stringify(rb));
    assert.match(rb.reason, /halted at replica a/);
    // b kept its configuration for as long as a is down.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(b.agent.status().applied?.revision, bBefore, 'b was not given the document');
    assert.doesNotMatch(await runningConfig(b.prometheus.url), /9103/);
    const events = (await api(controller.url, '/v1/events?limit=300')).body.events;
    const failed = events.find((e: any) => e.type === 'rollout-failed' && e.revision === third);
    assert.match(failed.message, /poisoned/);
    assert.ok(!events.some((e: any) => e.type === 'replica-skipped' && e.revision === third), 'not treated as already down');
    const page = await (await fetch(`${controller.url}/shards/networking`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).text();
    assert.match(page, /data-replica="b" data-state="held"/);

    // Prometheus comes back and loads the document after all: a proves it, and the rollout goes on to b.
    await a.prometheus.restart();
    await waitFor('both replicas run the third revision', () => allOnRevision([a, b], third), 20_000);
    assert.match(await runningConfig(b.prometheus.url), /9103/);
  });
});
