// The documents of a shard being resharded, against a real Prometheus: every overlap document passes
// promtool, and the targets each unit's Prometheus keeps are exactly the union promshard predicts
// (its share under the old layout and under the new), so every moved target is kept by its old unit
// and its new unit at once, and no target is kept by none. Layout changes: grow, shrink, unsplit to
// split, split to unsplit, and a new split_by at the same count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { buildOverlapDocuments, buildRetiredDocument } from '../../core/render/shard-documents.ts';
import { splitOfTarget } from '../../core/placement/hashmod.ts';
import { layoutOf, movedTargets, overlapUnits, sameLayout, type SplitLayout } from '../../core/placement/reshard-overlap.ts';
import { splitName } from '../../core/document/split-name.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { PROMTOOL_BIN, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { waitFor } from '../support/wait-for.ts';

const REVISION = { revision: 'abc', generation: 1, committedAt: '2026-01-01T00:00:00Z' };
const TARGETS = 40;

function repository(count: number, splitBy?: string): Record<string, string> {
  // Targets in 5 groups labelled by rack, so that `split_by: rack` has something to hash.
  const groups = Array.from({ length: 5 }, (_, g) => {
    const targets = Array.from({ length: TARGETS / 5 }, (_, i) => `127.0.0.1:${22000 + g * 100 + i}`);
    return `      - targets: [${targets.join(', ')}]\n        labels: { rack: r${g} }`;
  }).join('\n');
  return {
    'shards.yaml': `shards:
  - name: web
    split: ${count}
${splitBy ? `    split_by: ${splitBy}\n` : ''}    budget: { max_series: 100000, max_targets: 1000 }
`,
    'teams/web/main.yaml': `team: web
shard: web
jobs:
  - name: web-nodes
    interval: 1h
    timeout: 1s
    target_groups:
${groups}
`,
  };
}

async function keptAddresses(prom: RunningPrometheus, expected: string[]): Promise<string[]> {
  let kept: string[] = [];
  await waitFor('the predicted targets', async () => {
    const body = (await (await fetch(`${prom.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { discoveredLabels: Record<string, string> }[] } };
    kept = body.data.activeTargets.map((t) => t.discoveredLabels.__address__!).sort();
    return JSON.stringify(kept) === JSON.stringify(expected);
  }, 10_000).catch(() => undefined);
  return kept;
}

const CHANGES: { name: string; from: SplitLayout; to: [number, string?] }[] = [
  { name: 'grow 2 → 3', from: { count: 2, by: '__address__' }, to: [3] },
  { name: 'shrink 3 → 2', from: { count: 3, by: '__address__' }, to: [2] },
  { name: 'unsplit → 3', from: { count: 1, by: '__address__' }, to: [3] },
  { name: '3 → unsplit', from: { count: 3, by: '__address__' }, to: [1] },
  { name: 'split_by __address__ → rack at 3', from: { count: 3, by: '__address__' }, to: [3, 'rack'] },
];

for (const change of CHANGES) {
  test(`reshard ${change.name}: each unit's Prometheus keeps its share under both layouts, every moved target is kept twice, none is lost`, { timeout: 60_000 }, async () => {
    const c = compileFiles(repository(change.to[0], change.to[1]));
    assert.equal(c.valid, true, JSON.stringify(c.findings));
    const shard = c.model!.shards[0]!;
    const job = shard.jobs[0]!;
    const to = layoutOf(shard);
    assert.equal(sameLayout(change.from, to), false);
    const unitOf = (t: (typeof job.targets)[number], l: SplitLayout) => splitName('web', splitOfTarget(job, t, l.by, l.count), l.count);
    const docs = buildOverlapDocuments(shard, change.from, REVISION);
    const units = overlapUnits(shard, change.from);
    assert.deepEqual([...docs.keys()].sort(), units.map((u) => u.split.name).sort());
    const moved = movedTargets(shard, change.from);
    assert.ok(moved.length > 0 && moved.length <= TARGETS, `${moved.length} targets move`);
    for (const m of moved) assert.notEqual(m.from, m.to);

    const prom = await startPrometheus();
    try {
      const keptBy = new Map<string, string[]>();
      for (const [name, doc] of docs) {
        writeFileSync(prom.configFile, doc.files[0]!.content);
        const check = spawnSync(PROMTOOL_BIN, ['check', 'config', prom.configFile], { encoding: 'utf8' });
        assert.equal(check.status, 0, `${name}: ${check.stdout}${check.stderr}`);
        const expected = job.targets.filter((t) => unitOf(t, change.from) === name || unitOf(t, to) === name).map((t) => t.address).sort();
        assert.equal((await fetch(`${prom.url}/-/reload`, { method: 'POST' })).status, 200);
        const kept = await keptAddresses(prom, expected);
        assert.deepEqual(kept, expected, `${name}: kept targets differ from the prediction`);
        // The unit's model (what the controller watches and shows) holds the same targets.
        assert.deepEqual(units.find((u) => u.split.name === name)!.model.jobs[0]!.targets.map((t) => t.address).sort(), expected, name);
        for (const a of kept) keptBy.set(a, [...(keptBy.get(a) ?? []), name]);
      }
      assert.equal(keptBy.size, TARGETS, 'every target is kept by some unit');
      const movedSet = new Map(moved.map((m) => [m.address, m]));
      for (const [address, by] of keptBy) {
        const m = movedSet.get(address);
        if (m) assert.deepEqual(by.sort(), [m.from, m.to].sort(), `${address} moves ${m.from} → ${m.to}`);
        else assert.equal(by.length, 1, `${address} does not move, kept by ${by.join(', ')}`);
      }
    } finally {
      await prom.destroy();
    }
  });
}

test('a retired unit scrapes nothing but keeps its global settings, and passes promtool', () => {
  const c = compileFiles(repository(2));
  const shard = c.model!.shards[0]!;
  const old = overlapUnits(shard, { count: 3, by: '__address__' }).find((u) => u.role === 'old')!;
  assert.equal(old.split.name, 'web.s2');
  const doc = buildRetiredDocument(shard, old.split, REVISION);
  assert.equal(doc.shard, 'web.s2');
  assert.deepEqual(doc.split, { shard: 'web', index: 2, count: 3, by: '__address__' });
  assert.match(doc.files[0]!.content, /scrape_configs: \[\]\n$/);
  const file = `${process.env.TMPDIR ?? '/tmp'}/promshard-retired-${process.pid}.yml`;
  writeFileSync(file, doc.files[0]!.content);
  const check = spawnSync(PROMTOOL_BIN, ['check', 'config', file], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});
