// Resharding without gaps, end to end with real parts (test/support/reshard-scenario.ts): a controller,
// one real agent + Prometheus 2.42 per split, 12 real exporters scraped every 5 s, and a real global
// receiver (--web.enable-remote-write-receiver) that every split remote-writes `up` to. The shard goes
// from split 2 to split 3 under that steady scrape. The moved targets are scraped by their old split
// and their new one at once (two series at the receiver), the overlap shows in /v1/reshards and on the
// dashboard, it ends on its own once the new splits scraped them, each split then keeps exactly its new
// share, and at the receiver no target, moved or not, misses a scrape interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prometheusInstalled } from '../support/prometheus.ts';
import { longestGapMs, runReshardScenario } from '../support/reshard-scenario.ts';
import { api } from './helpers.ts';

const skip = prometheusInstalled() ? false : 'prometheus not installed';

const INTERVAL_S = 5;

test('split 2 → 3 under a steady 5 s scrape: moved targets are scraped by both splits until the new one has them, then only there, and the global receiver has no missing interval', { skip, timeout: 240_000 }, async () => {
  let events: string[] = [];
  let metrics = '';
  const run = await runReshardScenario({
    targets: 12,
    from: 2,
    to: 3,
    boundMs: 90_000,
    intervalS: INTERVAL_S,
    duringOverlap: async (url, active) => {
      assert.equal(active.shard, 'web');
      assert.deepEqual([active.from, active.to], [{ count: 2, by: '__address__' }, { count: 3, by: '__address__' }]);
      assert.equal(active.boundSeconds, 90);
      // The overlap is on the dashboard's fleet page while it lasts.
      const page = await (await fetch(`${url}/`)).text();
      assert.match(page, /Resharding/);
      assert.match(page, /web<\/bdi><\/a>: <bdi>split 2 by __address__<\/bdi> → <bdi>split 3 by __address__<\/bdi>/);
    },
    atEnd: async (url) => {
      events = (await api(url, '/v1/events?limit=200')).body.events.map((e: { type: string }) => e.type);
      metrics = await (await fetch(`${url}/metrics`)).text();
    },
  });
  const { moved, targets, oldUnit, newUnit, reshard } = run;
  assert.ok(moved.length > 0, 'some targets move');
  assert.deepEqual(reshard.moved.map((m: { address: string }) => m.address).sort(), [...moved].sort());
  assert.equal(reshard.expired, null, 'every moved target was seen scraped by its new split before the bound');
  assert.equal(reshard.handedOverCount, moved.length);
  assert.ok(reshard.moved.every((m: { how: string }) => m.how === 'scraped'));
  assert.ok(reshard.overlapSeconds > 0 && reshard.overlapSeconds < 90, `overlap ${reshard.overlapSeconds} s`);

  for (const target of targets) {
    const list = run.samples.get(target) ?? [];
    const worst = longestGapMs(list, run.changedAt - 3 * INTERVAL_S, run.endedAt + 2 * INTERVAL_S);
    assert.ok(worst <= 1500 * INTERVAL_S, `${target}${moved.includes(target) ? ' (moved)' : ''}: ${worst} ms without a sample at the receiver (scrape interval ${INTERVAL_S} s)`);
    if (moved.includes(target)) {
      // Its old split never skipped a scrape while it kept it: the overlap document's reload left the
      // target (its identity and scrape offset) alone.
      const m = reshard.moved.find((x: { address: string }) => x.address === target);
      const old = list.filter((s) => s.split === oldUnit.get(target)!.slice(-1));
      const oldGap = longestGapMs(old, run.changedAt - 3 * INTERVAL_S, Date.parse(m.handedOverAt) / 1000);
      assert.ok(oldGap <= 1500 * INTERVAL_S, `${target}: its old split went ${oldGap} ms without scraping it before the handover`);
      // Scraped by both splits during the overlap: two split labels at the receiver.
      const splits = new Set(list.filter((s) => s.t >= run.changedAt).map((s) => s.split));
      assert.deepEqual([...splits].sort(), [oldUnit.get(target)!.slice(-1), newUnit.get(target)!.slice(-1)].sort(), `${target} moved ${oldUnit.get(target)} → ${newUnit.get(target)}`);
    }
  }
  assert.ok(events.includes('reshard-started') && events.includes('reshard-done'), events.join(','));
  assert.match(metrics, /promshard_controller_reshard_overlap_seconds_count 1\b/);
});

test('split 3 → 2: web.s2 keeps its share until the two splits have scraped it, then runs a configuration that scrapes nothing and is no longer driven', { skip, timeout: 240_000 }, async () => {
  let web2: { status: number; body: any } | null = null;
  let web2View: any = null;
  const run = await runReshardScenario({
    targets: 10,
    from: 3,
    to: 2,
    boundMs: 90_000,
    intervalS: 1,
    atEnd: async (url) => {
      web2 = await api(url, '/v1/shards/web.s2/document');
      web2View = (await api(url, '/v1/shards/web.s2')).body;
    },
  });
  const { reshard, moved, targets } = run;
  assert.deepEqual(reshard.retiring, ['web.s2']);
  assert.equal(reshard.expired, null);
  assert.ok(reshard.handedOverAt && reshard.endedAt && reshard.endedAt >= reshard.handedOverAt);
  assert.ok(moved.some((t) => run.oldUnit.get(t) === 'web.s2'), 'some targets leave web.s2');
  // The scenario waited for web.s2's Prometheus to list no target at all; the controller drives it no more.
  assert.equal(web2!.status, 404, 'web.s2 has no desired document after the reshard');
  assert.equal(web2View.replicas[0].applied.verified, true, 'its agent runs (and proved) the retired document');
  for (const target of targets) {
    const worst = longestGapMs(run.samples.get(target) ?? [], run.changedAt - 3, run.endedAt + 2);
    assert.ok(worst < 2000, `${target}${moved.includes(target) ? ' (moved)' : ''}: ${worst} ms without a sample at the receiver (scrape interval 1 s)`);
  }
});

test('split 2 → 3 with two replicas per split: a moved target is handed over only once every replica of its new split has scraped it; both replicas of every split end on their new share', { skip, timeout: 240_000 }, async () => {
  const run = await runReshardScenario({ targets: 8, from: 2, to: 3, boundMs: 90_000, intervalS: 1, replicas: 2 });
  const { reshard, moved, targets } = run;
  assert.equal(reshard.expired, null);
  assert.equal(reshard.handedOverCount, moved.length);
  for (const target of moved) {
    // Each moved target reached the receiver from both replicas of its new split.
    const fromNew = run.samples.get(target)!.filter((s) => s.split === run.newUnit.get(target)!.slice(-1));
    assert.deepEqual([...new Set(fromNew.map((s) => s.replica))].sort(), ['a', 'b'], `${target}: samples from both replicas of its new split`);
  }
  for (const target of targets) {
    const worst = longestGapMs(run.samples.get(target) ?? [], run.changedAt - 3, run.endedAt + 2);
    assert.ok(worst < 2000, `${target}: ${worst} ms without a sample at the receiver (scrape interval 1 s)`);
  }
});
