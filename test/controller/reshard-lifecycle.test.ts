// The reshard's bookkeeping around the happy path (test/controller/reshard.test.ts), with a real
// controller and a real git repository but no agents, so that the overlap cannot end by itself:
// - the overlap survives a controller restart (reshards.json): the old layout is not forgotten and the
//   overlap documents stay desired;
// - past its bound, an overlap whose new splits have no replica running their document stays, and
//   says why in the timeline, rather than drop targets nobody else scrapes;
// - going back to the old layout calls the reshard off, and the plain documents are desired again;
// - --reshard-overlap-max 0 changes the layout in one rollout, with no overlap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { api, GitRepo, launchController, newControllerPort, tempDir, waitFor, webhook } from './helpers.ts';

/** The overlap document's extra hashmod: the unit keeps its share under the previous layout too. */
const PREVIOUS_HASH = /target_label: "?__tmp_promshard_hash_previous/;
const shardsYaml = (split: number) => `shards:
  - name: web
    replicas: 2
    split: ${split}
    budget: { max_series: 100000, max_targets: 1000 }
`;
const TARGETS = Array.from({ length: 24 }, (_, i) => `10.0.${i}.1:9100`);
const teamFile = `team: web\nshard: web\njobs:\n  - name: web-nodes\n    targets: [${TARGETS.map((t) => JSON.stringify(t)).join(', ')}]\n`;

async function document(url: string, unit: string): Promise<string | null> {
  const { status, body } = await api(url, `/v1/shards/${unit}/document`);
  return status === 200 ? body.files[0].content : null;
}

test('an overlap survives a restart, holds past its bound while its new splits run nothing, and going back calls it off', { timeout: 60_000 }, async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-reshard-life-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  try {
    repo.commit({ 'shards.yaml': shardsYaml(2), 'teams/web/main.yaml': teamFile });
    let ctl = await launchController(repo, stateDir, port, { reshardBoundMs: 1500, reshardPollMs: 200 });
    try {
      assert.doesNotMatch((await document(url, 'web.s0'))!, PREVIOUS_HASH);
      const sha = repo.commit({ 'shards.yaml': shardsYaml(3) });
      assert.equal(await webhook(url), 202);
      const active = await waitFor('the reshard', async () => (await api(url, '/v1/reshards')).body.active[0], 10_000, 100);
      assert.equal(active.revision, sha);
      assert.deepEqual(active.retiring, []);
      assert.ok(active.movedCount > 0);
      // web.s0 and web.s1 keep their old share too; web.s2 is new.
      for (const unit of ['web.s0', 'web.s1']) assert.match((await document(url, unit))!, PREVIOUS_HASH, unit);
      assert.doesNotMatch((await document(url, 'web.s2'))!, PREVIOUS_HASH);
      // Past the 1.5 s bound with no replica anywhere: it stays, and the timeline says why.
      const overdue = await waitFor('the overdue event', async () => (await api(url, '/v1/events?limit=100')).body.events.find((e: { type: string }) => e.type === 'reshard-overdue'), 10_000, 200);
      assert.match(overdue.message, /no replica running its document/);
      assert.equal((await api(url, '/v1/reshards')).body.active.length, 1);
      assert.match(await (await api(url, '/metrics')).body, /promshard_controller_reshard_moved_targets\{shard="web",state="kept-twice"\} [1-9]/);
    } finally {
      await ctl.close();
    }

    // Restarted on the same state directory: the reshard and its overlap documents are still there.
    ctl = await launchController(repo, stateDir, port, { reshardBoundMs: 1500, reshardPollMs: 200 });
    try {
      const { body } = await api(url, '/v1/reshards');
      assert.equal(body.active.length, 1, 'the overlap is remembered');
      assert.deepEqual([body.active[0].from.count, body.active[0].to.count], [2, 3]);
      assert.match((await document(url, 'web.s0'))!, PREVIOUS_HASH);

      // Back to split 2: called off, plain documents, web.s2 no longer driven.
      repo.commit({ 'shards.yaml': shardsYaml(2) });
      assert.equal(await webhook(url), 202);
      await waitFor('the reshard called off', async () => (await api(url, '/v1/reshards')).body.active.length === 0, 10_000, 100);
      const recent = (await api(url, '/v1/reshards')).body.recent[0];
      assert.ok(recent.endedAt);
      assert.equal(recent.handedOverAt, null);
      assert.doesNotMatch((await document(url, 'web.s0'))!, PREVIOUS_HASH);
      assert.equal(await document(url, 'web.s2'), null);
      const events = (await api(url, '/v1/events?limit=100')).body.events.map((e: { type: string }) => e.type);
      assert.ok(events.includes('reshard-cancelled'), events.join(','));
    } finally {
      await ctl.close();
    }
  } finally {
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('--reshard-overlap-max 0: the new layout replaces the old one in one rollout, with no overlap', { timeout: 60_000 }, async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-reshard-none-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  try {
    repo.commit({ 'shards.yaml': shardsYaml(2), 'teams/web/main.yaml': teamFile });
    const ctl = await launchController(repo, stateDir, port, { reshardBoundMs: 0 });
    try {
      repo.commit({ 'shards.yaml': shardsYaml(3) });
      assert.equal(await webhook(url), 202);
      await waitFor('web.s2 desired', async () => (await document(url, 'web.s2')) !== null, 10_000, 100);
      assert.equal((await api(url, '/v1/reshards')).body.active.length, 0);
      for (const unit of ['web.s0', 'web.s1', 'web.s2']) assert.doesNotMatch((await document(url, unit))!, PREVIOUS_HASH, unit);
      const events = (await api(url, '/v1/events?limit=100')).body.events;
      assert.match(events.find((e: { type: string }) => e.type === 'reshard-done').message, /in one rollout, without overlap/);
    } finally {
      await ctl.close();
    }
  } finally {
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
