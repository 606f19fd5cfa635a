// Resharding without gaps, end to end with real parts: a controller, one real agent + Prometheus 2.42
// per split, 12 real exporters scraped every second, and a real global receiver
// (--web.enable-remote-write-receiver) that every split remote-writes `up` to. The shard goes from
// split 2 to split 3 under that steady scrape. The moved targets are scraped by their old split and
// their new one at once (seen at the receiver as two series), the overlap shows in /v1/reshards and on
// the dashboard, it ends on its own once the new splits scraped them, each split then keeps exactly its
// new share, and at the receiver no target, moved or not, misses a scrape interval.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { splitOfTarget } from '../../core/placement/hashmod.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { startExporter, type Exporter } from '../support/exporters.ts';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { allOnRevision, api, GitRepo, launchController, newControllerPort, startReplica, stopReplica, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

const skip = prometheusInstalled() ? false : 'prometheus not installed';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const shardsYaml = (receiver: string, split: number) => `defaults: { interval: 1s, timeout: 1s }
remote_write:
  - name: global
    url: ${receiver}/api/v1/write
    queue_config: { batch_send_deadline: 1s, max_shards: 1, min_backoff: 100ms, max_backoff: 1s }
    write_relabel_configs:
      - source_labels: [__name__]
        regex: up
        action: keep
shards:
  - name: web
    replicas: 1
    split: ${split}
    budget: { max_series: 100000, max_targets: 100 }
`;

const teamFile = (targets: string[]) => `team: web\nshard: web\njobs:\n  - name: web-nodes\n    targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]\n`;

async function activeAddresses(p: RunningPrometheus): Promise<string[]> {
  const body = (await (await fetch(`${p.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { discoveredLabels: Record<string, string> }[] } };
  return body.data.activeTargets.map((t) => t.discoveredLabels.__address__!).sort();
}

/** Raw `up` samples at the receiver over the last `seconds`, by instance: each sample's time and the split that sent it. */
async function upSamples(receiver: RunningPrometheus, seconds: number): Promise<Map<string, { t: number; split: string }[]>> {
  const q = encodeURIComponent(`up{job="web-nodes"}[${seconds}s]`);
  const body = (await (await fetch(`${receiver.url}/api/v1/query?query=${q}`)).json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  const out = new Map<string, { t: number; split: string }[]>();
  for (const series of body.data.result) {
    const list = out.get(series.metric.instance!) ?? [];
    for (const [t] of series.values) list.push({ t, split: series.metric.promshard_split ?? '' });
    out.set(series.metric.instance!, list);
  }
  return out;
}

test('split 2 → 3 under a steady 1 s scrape: moved targets are scraped by both splits until the new one has them, then only there, and the global receiver has no missing interval', { skip, timeout: 240_000 }, async () => {
  const receiver = await startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] });
  cleanups.push(() => receiver.destroy());
  const exporters: Exporter[] = [];
  for (let i = 0; i < 12; i++) exporters.push(await startExporter(() => 'demo_value 1\n'));
  cleanups.push(async () => {
    for (const e of exporters) await e.close();
  });
  const targets = exporters.map((e) => e.target);
  const repo = new GitRepo();
  cleanups.push(() => repo.destroy());
  const stateDir = tempDir('promshard-reshard-ctl-');
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  const before = { 'shards.yaml': shardsYaml(receiver.url, 2), 'teams/web/main.yaml': teamFile(targets) };
  const sha1 = repo.commit(before);
  const ctl = await launchController(repo, stateDir, port, { reshardPollMs: 300, reshardBoundMs: 90_000, openReadAccess: true });
  cleanups.push(() => ctl.close());
  const replicas = new Map<string, Replica>();
  for (const unit of ['web.s0', 'web.s1', 'web.s2']) {
    const r = await startReplica(unit, 'a', url, [], {}, { extraArgs: ['--enable-feature=expand-external-labels'], env: { PROMSHARD_REPLICA: 'a' } });
    cleanups.push(() => stopReplica(r));
    replicas.set(unit, r);
  }
  assert.equal(await webhook(url), 202);
  await waitFor('split 2 applied', () => allOnRevision([replicas.get('web.s0')!, replicas.get('web.s1')!], sha1), 60_000);
  await waitFor('every target at the receiver', async () => (await upSamples(receiver, 30)).size === targets.length, 60_000, 500);
  await new Promise((r) => setTimeout(r, 3000));

  // Where each target goes.
  const job = compileFiles(before).model!.shards[0]!.jobs[0]!;
  const unitUnder = (count: number) => new Map(job.targets.map((t) => [t.address, `web.s${splitOfTarget(job, t, '__address__', count)}`]));
  const oldUnit = unitUnder(2);
  const newUnit = unitUnder(3);
  const moved = targets.filter((t) => oldUnit.get(t) !== newUnit.get(t));
  assert.ok(moved.length > 0, 'some targets move');

  const changedAt = Date.now() / 1000;
  const sha2 = repo.commit({ 'shards.yaml': shardsYaml(receiver.url, 3) });
  assert.equal(await webhook(url), 202);
  const active = await waitFor('the reshard in progress', async () => {
    const { body } = await api(url, '/v1/reshards');
    return body.active.length === 1 ? body.active[0] : undefined;
  }, 30_000, 100);
  assert.equal(active.shard, 'web');
  assert.deepEqual([active.from, active.to], [{ count: 2, by: '__address__' }, { count: 3, by: '__address__' }]);
  assert.deepEqual(active.moved.map((m: { address: string }) => m.address).sort(), [...moved].sort());
  assert.equal(active.revision, sha2);
  assert.equal(active.boundSeconds, 90);
  // The overlap is on the dashboard's fleet page while it lasts.
  const page = await (await fetch(`${url}/`)).text();
  assert.match(page, /Resharding/);
  assert.match(page, /web: split 2 by __address__ → split 3 by __address__/);

  const done = await waitFor('the overlap over', async () => {
    const { body } = await api(url, '/v1/reshards');
    return body.active.length === 0 && body.recent[0]?.revision === sha2 ? body.recent[0] : undefined;
  }, 120_000, 300);
  assert.equal(done.expired, null, 'every moved target was seen scraped by its new split before the bound');
  assert.equal(done.handedOverCount, moved.length);
  assert.ok(done.moved.every((m: { how: string }) => m.how === 'scraped'));
  assert.ok(done.overlapSeconds > 0 && done.overlapSeconds < 90, `overlap ${done.overlapSeconds} s`);

  // Each split ends with exactly its share under split 3.
  for (const [unit, r] of replicas) {
    const share = targets.filter((t) => newUnit.get(t) === unit).sort();
    await waitFor(`${unit} keeps only its new share`, async () => JSON.stringify(await activeAddresses(r.prometheus)) === JSON.stringify(share), 30_000, 500);
  }
  const endedAt = Date.now() / 1000;
  await new Promise((r) => setTimeout(r, 4000)); // remote_write's batch deadline and retries

  const samples = await upSamples(receiver, Math.ceil(Date.now() / 1000 - changedAt) + 10);
  for (const target of targets) {
    const list = samples.get(target) ?? [];
    const times = [...new Set(list.map((s) => Math.round(s.t * 1000)))].sort((a, b) => a - b).filter((t) => t >= (changedAt - 3) * 1000 && t <= endedAt * 1000);
    assert.ok(times.length > 5, `${target}: ${times.length} samples in the window`);
    let worst = 0;
    for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i]! - times[i - 1]!);
    assert.ok(worst <= 2500, `${target}${moved.includes(target) ? ' (moved)' : ''}: ${worst} ms without a sample at the receiver (scrape interval 1 s)`);
    if (moved.includes(target)) {
      // Scraped by both splits during the overlap: two split labels at the receiver.
      const splits = new Set(list.filter((s) => s.t >= changedAt).map((s) => s.split));
      assert.deepEqual([...splits].sort(), [oldUnit.get(target)!.slice(-1), newUnit.get(target)!.slice(-1)].sort(), `${target} moved ${oldUnit.get(target)} → ${newUnit.get(target)}`);
    }
  }
  // The timeline tells the story.
  const events = (await api(url, '/v1/events?limit=200')).body.events.map((e: { type: string }) => e.type);
  assert.ok(events.includes('reshard-started') && events.includes('reshard-done'), events.join(','));
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /promshard_controller_reshard_overlap_seconds_count 1\b/);
});
