// Resharding with other inputs than reshard.test.ts's happy paths, end to end with real parts
// (test/support/reshard-scenario.ts): real agents and Prometheus per split, real exporters and a real
// remote-write receiver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prometheusInstalled } from '../support/prometheus.ts';
import { startExporter, type Exporter } from '../support/exporters.ts';
import { longestGapMs, runReshardScenario } from '../support/reshard-scenario.ts';
import { allOnRevision, api, GitRepo, launchController, newControllerPort, startReplica, stopReplica, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

/** The overlap document's extra hashmod: the unit keeps its share under the previous layout too. */
const PREVIOUS_HASH = /target_label: "?__tmp_promshard_hash_previous/;

async function document(url: string, unit: string): Promise<string | null> {
  const { status, body } = await api(url, `/v1/shards/${unit}/document`);
  return status === 200 ? body.files[0].content : null;
}

const skip = prometheusInstalled() ? false : 'prometheus not installed';

test('a new split that comes up only after the bound passed: the overlap stays (reshard-overdue), then ends once that split has scraped its moved targets, not at its first report', { skip, timeout: 120_000 }, async () => {
  const INTERVAL_S = 1;
  const run = await runReshardScenario({
    targets: 8,
    from: 2,
    to: 3,
    // Enough for a split that runs its document to scrape what moved to it: Prometheus hands new
    // targets to its scrape loops up to 5 s after a reload, then scrapes within an interval.
    boundMs: 10_000,
    intervalS: INTERVAL_S,
    lateUnits: ['web.s2'],
    duringOverlap: async (url, _active, startLate) => {
      await waitFor('the overdue event', async () => (await api(url, '/v1/events?limit=100')).body.events.find((e: { type: string }) => e.type === 'reshard-overdue'), 20_000, 200);
      const { body } = await api(url, '/v1/reshards');
      assert.equal(body.active.length, 1, 'the overlap stays past its bound');
      assert.match(body.active[0].waitingFor, /web\.s2: no replica runs the overlap document/);
      assert.match(await (await fetch(`${url}/`)).text(), /Resharding/);
      await startLate();
    },
  });
  const { reshard, moved, targets } = run;
  assert.ok(moved.some((t) => run.newUnit.get(t) === 'web.s2'), 'some targets move to web.s2');
  assert.equal(reshard.expired, null, 'the late split gets time to scrape what moved to it');
  assert.ok(reshard.moved.every((m: { how: string }) => m.how === 'scraped'), JSON.stringify(reshard.moved));
  for (const target of targets) {
    const worst = longestGapMs(run.samples.get(target) ?? [], run.changedAt - 3 * INTERVAL_S, run.endedAt + 2 * INTERVAL_S);
    assert.ok(worst < 2000 * INTERVAL_S, `${target}${moved.includes(target) ? ' (moved)' : ''}: ${worst} ms without a sample at the receiver (scrape interval ${INTERVAL_S} s)`);
  }
});

test('unsplit → split 2: the shard-named unit (agent --shard web, no split) keeps every target until both splits scraped theirs, then is retired; no target misses an interval', { skip, timeout: 120_000 }, async () => {
  let during: any = null;
  let webView: any = null;
  let webDoc: { status: number } | null = null;
  const run = await runReshardScenario({
    targets: 6,
    from: 1,
    to: 2,
    boundMs: 60_000,
    intervalS: 1,
    duringOverlap: async (url) => {
      during = (await api(url, '/v1/reshards')).body.active[0];
    },
    atEnd: async (url) => {
      webView = (await api(url, '/v1/shards/web')).body;
      webDoc = await api(url, '/v1/shards/web/document');
    },
  });
  const { reshard, moved, targets } = run;
  assert.deepEqual(during.retiring, ['web']);
  assert.deepEqual(Object.keys(during.unitsProvenAt).sort(), ['web.s0', 'web.s1']);
  assert.deepEqual([...moved].sort(), [...targets].sort(), 'every target leaves the unsplit unit');
  assert.equal(reshard.expired, null);
  assert.ok(reshard.moved.every((m: { from: string; how: string }) => m.from === 'web' && m.how === 'scraped'));
  assert.equal(webDoc!.status, 404, 'the unsplit unit is no longer driven');
  assert.equal(webView.replicas[0].applied.verified, true);
  for (const target of targets) {
    const worst = longestGapMs(run.samples.get(target) ?? [], run.changedAt - 3, run.endedAt + 2);
    assert.ok(worst < 2000, `${target}: ${worst} ms without a sample at the receiver (scrape interval 1 s)`);
  }
});

test('a layout change while the previous reshard retires its old splits starts a new overlap from the layout that runs (here back to split 3), rather than switching in one go', { skip, timeout: 120_000 }, async () => {
  const exporters: Exporter[] = [];
  const replicas: Replica[] = [];
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-reshard-again-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  let ctl: Awaited<ReturnType<typeof launchController>> | null = null;
  try {
    for (let i = 0; i < 6; i++) exporters.push(await startExporter(() => 'demo_value 1\n'));
    const shards = (split: number) => `defaults: { interval: 1s, timeout: 1s }\nshards:\n  - name: web\n    replicas: 1\n    split: ${split}\n    budget: { max_series: 100000, max_targets: 1000 }\n`;
    const sha1 = repo.commit({ 'shards.yaml': shards(3), 'teams/web/main.yaml': `team: web\nshard: web\njobs:\n  - name: web-nodes\n    targets: [${exporters.map((e) => JSON.stringify(e.target)).join(', ')}]\n` });
    ctl = await launchController(repo, stateDir, port, { reshardPollMs: 300, reshardBoundMs: 60_000 });
    for (const unit of ['web.s0', 'web.s1', 'web.s2']) replicas.push(await startReplica(unit, 'a', url));
    assert.equal(await webhook(url), 202);
    await waitFor('split 3 applied', () => allOnRevision(replicas, sha1), 60_000);

    repo.commit({ 'shards.yaml': shards(2) });
    assert.equal(await webhook(url), 202);
    await waitFor('the 3 → 2 overlap', async () => (await api(url, '/v1/reshards')).body.active[0], 20_000, 100);
    // web.s2's agent goes away: the handover does not need it, but its retirement waits for it.
    await replicas[2]!.stopAgent();
    await waitFor('retiring web.s2', async () => (await api(url, '/v1/reshards')).body.active[0]?.phase === 'retiring', 30_000, 200);
    await waitFor('web.s0 and web.s1 on split 2', async () => (await document(url, 'web.s0'))?.includes('modulus: 2') && !PREVIOUS_HASH.test((await document(url, 'web.s0'))!), 10_000, 100);

    const sha3 = repo.commit({ 'shards.yaml': shards(3) });
    assert.equal(await webhook(url), 202);
    await waitFor('the change adopted', async () => (await api(url, '/v1/repository')).body.lastGood?.sha === sha3, 20_000, 100);
    const active = (await api(url, '/v1/reshards')).body;
    assert.equal(active.active.length, 1, `a reshard is in progress: ${JSON.stringify((await api(url, '/v1/events?limit=30')).body.events.map((e: any) => [e.type, e.message]))}`);
    assert.deepEqual([active.active[0].from.count, active.active[0].to.count, active.active[0].phase], [2, 3, 'overlap']);
    // web.s0 and web.s1 keep their split-2 share while web.s2 takes its split-3 share back.
    for (const unit of ['web.s0', 'web.s1']) assert.match((await document(url, unit))!, PREVIOUS_HASH, unit);
  } finally {
    await ctl?.close();
    for (const r of replicas) await stopReplica(r);
    for (const e of exporters) await e.close();
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a split shard with a DNS discovery job whose name does not resolve: the reshard 2 → 3 still hands over (no discovered target to wait for), without error, and no static target misses an interval', { skip, timeout: 120_000 }, async () => {
  let during: any = null;
  const run = await runReshardScenario({
    targets: 6,
    from: 2,
    to: 3,
    boundMs: 60_000,
    intervalS: 1,
    extraJobs: '  - name: web-dns\n    discovery:\n      dns: { names: [nothing.promshard.invalid], type: A, port: 9100, refresh_interval: 1s }\n',
    duringOverlap: async (url) => {
      during = (await api(url, '/v1/reshards')).body.active[0];
    },
  });
  assert.deepEqual(during.discoveryJobs, ['web-dns']);
  const { reshard, moved, targets } = run;
  assert.equal(reshard.expired, null);
  assert.equal(reshard.handedOverCount, moved.length);
  for (const target of targets) {
    const worst = longestGapMs(run.samples.get(target) ?? [], run.changedAt - 3, run.endedAt + 2);
    assert.ok(worst < 2000, `${target}: ${worst} ms without a sample at the receiver (scrape interval 1 s)`);
  }
});

test('a moved target that is down (its exporter gone) is handed over as down under both splits, without waiting for the bound; the others as scraped', { skip, timeout: 120_000 }, async () => {
  const run = await runReshardScenario({ targets: 6, from: 2, to: 3, boundMs: 60_000, intervalS: 1, downMoved: 1 });
  const { reshard, moved, targets } = run;
  const down = moved[0]!;
  assert.equal(reshard.expired, null);
  assert.equal(reshard.moved.find((m: { address: string }) => m.address === down).how, 'down-in-both');
  assert.ok(reshard.moved.filter((m: { address: string }) => m.address !== down).every((m: { how: string }) => m.how === 'scraped'));
  assert.ok(reshard.overlapSeconds < 30, `overlap ${reshard.overlapSeconds} s`);
  for (const target of targets.filter((t) => t !== down)) {
    const worst = longestGapMs(run.samples.get(target) ?? [], run.changedAt - 3, run.endedAt + 2);
    assert.ok(worst < 2000, `${target}: ${worst} ms without a sample at the receiver (scrape interval 1 s)`);
  }
});

/**
 * An HTTP proxy in front of a Prometheus, for its agent. While `held`, `/api/v1/targets` answers that
 * no target is known yet, except that with `park` set the next question waits: `release()` lets it
 * through, asked of Prometheus only then (within the agent's own 5 s deadline).
 */
async function slowTargetsProxy(): Promise<{ url: string; upstream: string | null; held: boolean; park: boolean; waiting: number; release(): void; close(): Promise<void> }> {
  let waiting: ((go: boolean) => void)[] = [];
  const proxy = {
    url: '',
    upstream: null as string | null,
    held: false,
    park: false,
    get waiting() {
      return waiting.length;
    },
    release() {
      proxy.held = false;
      for (const w of waiting) w(true);
      waiting = [];
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!proxy.upstream) return void res.writeHead(503).end();
    if (req.url!.startsWith('/api/v1/targets') && proxy.held) {
      if (!proxy.park) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"activeTargets":[],"droppedTargets":[]}}');
      const go = await new Promise<boolean>((r) => {
        const timer = setTimeout(() => {
          waiting = waiting.filter((w) => w !== done);
          r(false);
        }, 4500);
        const done = (v: boolean) => {
          clearTimeout(timer);
          r(v);
        };
        waiting.push(done);
      });
      if (!go) return void res.writeHead(503).end();
    }
    try {
      const answer = await fetch(proxy.upstream + req.url, { method: req.method, headers: req.headers['content-type'] ? { 'content-type': String(req.headers['content-type']) } : {}, body: chunks.length ? Buffer.concat(chunks) : undefined });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' }).end(Buffer.from(await answer.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

test('a reshard called off while the watch waits on a slow agent stays called off: the answer that comes back later does not hand the abandoned layout over', { skip, timeout: 120_000 }, async () => {
  const exporters: Exporter[] = [];
  const replicas: Replica[] = [];
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-reshard-race-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  const proxy = await slowTargetsProxy();
  let ctl: Awaited<ReturnType<typeof launchController>> | null = null;
  try {
    // 16 targets: some move to web.s2 (all but 1 in 600 draws of ports).
    for (let i = 0; i < 16; i++) exporters.push(await startExporter(() => 'demo_value 1\n'));
    const shards = (split: number) => `defaults: { interval: 1s, timeout: 1s }\nshards:\n  - name: web\n    replicas: 1\n    split: ${split}\n    budget: { max_series: 100000, max_targets: 1000 }\n`;
    const sha1 = repo.commit({ 'shards.yaml': shards(2), 'teams/web/main.yaml': `team: web\nshard: web\njobs:\n  - name: web-nodes\n    targets: [${exporters.map((e) => JSON.stringify(e.target)).join(', ')}]\n` });
    ctl = await launchController(repo, stateDir, port, { reshardPollMs: 200, reshardBoundMs: 60_000, statusTimeoutMs: 10_000 });
    for (const unit of ['web.s0', 'web.s1']) replicas.push(await startReplica(unit, 'a', url));
    // web.s2's agent reads its Prometheus through the slow proxy.
    const s2 = await startReplica('web.s2', 'a', url, [], { prometheusUrl: proxy.url });
    proxy.upstream = s2.prometheus.url;
    replicas.push(s2);
    assert.equal(await webhook(url), 202);
    await waitFor('split 2 applied', () => allOnRevision(replicas.slice(0, 2), sha1), 60_000);

    // From now on web.s2's agent tells the watch its Prometheus knows no target yet.
    proxy.held = true;
    repo.commit({ 'shards.yaml': shards(3) });
    assert.equal(await webhook(url), 202);
    await waitFor('web.s2 scraped its moved targets', async () => {
      const active = (await api(url, '/v1/reshards')).body.active[0];
      const mine: string[] = (active?.moved ?? []).filter((m: { to: string }) => m.to === 'web.s2').map((m: { address: string }) => m.address);
      const listed = ((await (await fetch(`${s2.prometheus.url}/api/v1/targets?state=active`)).json()) as any).data.activeTargets;
      return mine.length > 0 && mine.every((a) => listed.some((t: any) => t.discoveredLabels.__address__ === a && t.health === 'up'));
    }, 30_000, 100);
    // The watch's next question to web.s2's agent hangs; the call-off lands meanwhile.
    proxy.park = true;
    await waitFor('a question parked', async () => proxy.waiting > 0, 10_000, 10);
    const sha3 = repo.commit({ 'shards.yaml': shards(2) });
    assert.equal(await webhook(url), 202);
    await waitFor('the revert adopted', async () => (await api(url, '/v1/repository')).body.lastGood?.sha === sha3, 10_000, 50);
    // The question the watch asked before the call-off is answered now: web.s2 has scraped its share
    // of split 3.
    proxy.release();
    await new Promise((r) => setTimeout(r, 3000));
    const { body } = await api(url, '/v1/reshards');
    const events = (await api(url, '/v1/events?limit=100')).body.events.map((e: { type: string }) => e.type);
    assert.ok(events.includes('reshard-cancelled'), events.join(','));
    assert.ok(!events.includes('reshard-done') && !events.includes('reshard-handed-over'), `no handover after the call-off: ${events.join(',')}`);
    assert.equal(body.active.length, 0, `no reshard in progress: ${JSON.stringify(body.active[0] ?? null).slice(0, 300)}`);
    assert.equal(body.recent.length, 1);
    assert.doesNotMatch((await document(url, 'web.s0'))!, PREVIOUS_HASH);
  } finally {
    await ctl?.close();
    for (const r of replicas) await stopReplica(r);
    await proxy.close();
    for (const e of exporters) await e.close();
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
