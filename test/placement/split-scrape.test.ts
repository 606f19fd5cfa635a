// Splits against a real Prometheus: every split's rendering passes promtool, and the targets each split
// keeps (its /api/v1/targets) are exactly the ones promshard predicts with its own hashmod: no target
// kept by two splits, none kept by none, for several N. A team rule that rewrites __address__ runs
// after the split's pair, so it changes where a target is scraped, not which split keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { splitOfTarget } from '../../core/placement/hashmod.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { PROMTOOL_BIN, startPrometheus } from '../support/prometheus.ts';
import { waitFor } from '../support/wait-for.ts';

const REVISION = { revision: 'abc', generation: 1, committedAt: '2026-01-01T00:00:00Z' };
const TARGETS = 60;

export function splitRepository(count: number, splitBy?: string): Record<string, string> {
  const targets = Array.from({ length: TARGETS }, (_, i) => `      - 127.0.0.1:${20000 + i}`).join('\n');
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
    targets:
${targets}
    relabel_configs:
      - source_labels: [__address__]
        regex: '127\\.0\\.0\\.1:(.*)'
        target_label: __address__
        replacement: 'localhost:$1'
        action: replace
`,
  };
}

interface ApiTarget { discoveredLabels: Record<string, string>; labels: Record<string, string> }

for (const count of [2, 3, 5]) {
  test(`split ${count}: each split's Prometheus keeps exactly the targets promshard predicts, and every target exactly once`, async () => {
    const c = compileFiles(splitRepository(count));
    assert.equal(c.valid, true, JSON.stringify(c.findings));
    const shard = c.model!.shards[0]!;
    const job = shard.jobs[0]!;
    const docs = buildShardDocuments(c.model!, REVISION);
    assert.deepEqual([...docs.keys()], Array.from({ length: count }, (_, i) => `web.s${i}`));
    const prom = await startPrometheus();
    try {
      const seen = new Map<string, string>();
      for (const [name, doc] of docs) {
        assert.deepEqual(doc.split, { shard: 'web', index: Number(name.slice('web.s'.length)), count, by: '__address__' });
        writeFileSync(prom.configFile, doc.files[0]!.content);
        const check = spawnSync(PROMTOOL_BIN, ['check', 'config', prom.configFile], { encoding: 'utf8' });
        assert.equal(check.status, 0, `${name}: ${check.stdout}${check.stderr}`);
        const expected = job.targets.filter((t) => splitOfTarget(job, t, '__address__', count) === doc.split!.index).map((t) => t.address).sort();
        assert.ok(expected.length > 0 && expected.length < TARGETS, `${name} predicts ${expected.length} targets`);
        const reload = await fetch(`${prom.url}/-/reload`, { method: 'POST' });
        assert.equal(reload.status, 200);
        // Wait for the kept set to be the predicted one; on a wrong prediction this times out and the
        // assertion below names the difference.
        let active: ApiTarget[] = [];
        await waitFor(`${name}'s targets`, async () => {
          const body = (await (await fetch(`${prom.url}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: ApiTarget[] } };
          active = body.data.activeTargets;
          return JSON.stringify(active.map((t) => t.discoveredLabels.__address__).sort()) === JSON.stringify(expected);
        }, 10_000).catch(() => undefined);
        assert.deepEqual(active.map((t) => t.discoveredLabels.__address__).sort(), expected, `${name}: kept targets differ from the prediction`);
        // The team rule still ran: the scrape goes to the rewritten address.
        for (const t of active) assert.match(t.labels.instance!, /^localhost:/);
        for (const a of expected) {
          assert.equal(seen.get(a), undefined, `${a} kept by ${seen.get(a)} and ${name}`);
          seen.set(a, name);
        }
      }
      assert.equal(seen.size, TARGETS, 'every target is kept by one split');
    } finally {
      await prom.destroy();
    }
  });
}

test('split 1 renders one document named after the shard, without a hashmod step (unchanged from before splits)', () => {
  const c = compileFiles(splitRepository(1));
  assert.equal(c.valid, true);
  const docs = buildShardDocuments(c.model!, REVISION);
  assert.deepEqual([...docs.keys()], ['web']);
  const doc = docs.get('web')!;
  assert.equal(doc.split, undefined);
  assert.doesNotMatch(doc.files[0]!.content, /hashmod|__tmp_promshard/);
});

test('split_by: the split is decided on the named label, and its pair comes before every team rule', () => {
  const c = compileFiles(splitRepository(2, 'job'));
  assert.equal(c.valid, true, JSON.stringify(c.findings));
  const text = buildShardDocuments(c.model!, REVISION).get('web.s1')!.files[0]!.content;
  const relabel = text.slice(text.indexOf('relabel_configs:'));
  assert.ok(relabel.indexOf('hashmod') < relabel.indexOf('localhost'), relabel);
  assert.match(relabel, /source_labels:\s*\n?\s*-?\s*\[?"?job/);
  assert.match(relabel, /regex: "?1"?/);
});
