// Resharding with other inputs than reshard.test.ts's happy paths, end to end with real parts
// (test/support/reshard-scenario.ts): real agents and Prometheus per split, real exporters and a real
// remote-write receiver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prometheusInstalled } from '../support/prometheus.ts';
import { longestGapMs, runReshardScenario } from '../support/reshard-scenario.ts';
import { api, waitFor } from './helpers.ts';

const skip = prometheusInstalled() ? false : 'prometheus not installed';

test('a new split that comes up only after the bound passed: the overlap stays (reshard-overdue), then ends once that split has scraped its moved targets, not at its first report', { skip, timeout: 120_000 }, async () => {
  const INTERVAL_S = 2;
  const run = await runReshardScenario({
    targets: 8,
    from: 2,
    to: 3,
    // Three scrape intervals: enough for a split that runs its document to scrape what moved to it.
    boundMs: 6000,
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
    assert.ok(worst <= 1500 * INTERVAL_S, `${target}${moved.includes(target) ? ' (moved)' : ''}: ${worst} ms without a sample at the receiver (scrape interval ${INTERVAL_S} s)`);
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
