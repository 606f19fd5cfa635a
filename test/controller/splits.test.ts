// Splits through the whole path with real agents and real Prometheus: each split of a split shard is
// its own rollout unit (document <shard>.s<i>, its own replicas, its own rollout), every split's
// Prometheus scrapes exactly its share, and a credential for one split is refused for another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { deriveAgentToken } from '../../core/http/agent-credential.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { splitOfTarget } from '../../core/placement/hashmod.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { activeAddresses } from '../support/prometheus.ts';
import { allOnRevision, api, GitRepo, launchController, newControllerPort, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

const SHARDS = `defaults:
  interval: 15s
  timeout: 5s
shards:
  - name: web
    replicas: 2
    split: 2
    budget: { max_series: 100000, max_targets: 100 }
  - name: storage
    replicas: 1
    budget: { max_series: 100000, max_targets: 100 }
`;
const TARGETS = Array.from({ length: 12 }, (_, i) => `127.0.0.1:${21000 + i}`);
/** The team file the split tests change: one job, `web-nodes`, with the given targets. */
const webTeam = (targets: string[]) => teamFile('web', 'web', { 'web-nodes': targets });

test('split shard: each split rolls out its own document to its own replicas, each scrapes exactly its share, and a halt in one split holds only that split', { timeout: 120_000 }, async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-split-ctl-');
  const replicas: Replica[] = [];
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  const files = { 'shards.yaml': SHARDS, 'teams/web/main.yaml': webTeam(TARGETS) };
  const sha = repo.commit(files);
  const ctl = await launchController(repo, stateDir, port);
  try {
    for (const split of ['web.s0', 'web.s1']) for (const r of ['a', 'b']) replicas.push(await startReplica(split, r, url));
    assert.equal(await webhook(url), 202);
    const model = compileFiles(files).model!;
    const job = model.shards.find((s) => s.name === 'web')!.jobs[0]!;
    const expected = (i: number) => job.targets.filter((t) => splitOfTarget(job, t, '__address__', 2) === i).map((t) => t.address).sort();
    const docs = buildShardDocuments(model, { revision: sha, generation: 1, committedAt: '' });

    // The API lists the splits by their document names, each with its own replicas.
    await waitFor('both splits applied on every replica', () => allOnRevision(replicas, sha), 60_000);
    const shards = await api(url, '/v1/shards');
    const names = (shards.body.shards ?? shards.body).map((s: { name?: string; shard?: string }) => s.name ?? s.shard).sort();
    assert.deepEqual(names, ['storage', 'web.s0', 'web.s1']);
    for (const [i, split] of ['web.s0', 'web.s1'].entries()) {
      const view = await api(url, `/v1/shards/${split}`);
      assert.equal(view.status, 200);
      assert.deepEqual(view.body.replicas.map((r: { replica: string }) => r.replica).sort(), ['a', 'b']);
      for (const r of replicas.filter((x) => x.shard === split)) {
        assert.equal(r.agent.status().applied?.hash, docs.get(split)!.hash, `${split}/${r.replica} runs its split's document`);
        await waitFor(`${split}/${r.replica} targets`, async () => JSON.stringify(await activeAddresses(r.prometheus.url)) === JSON.stringify(expected(i)), 20_000).catch(() => undefined);
        assert.deepEqual(await activeAddresses(r.prometheus.url), expected(i));
      }
    }
    assert.equal(expected(0).length + expected(1).length, TARGETS.length);
    // Metrics name splits as the API does.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /promshard_controller_shard_in_sync\{shard="web\.s0"\} 1/);
    assert.match(metrics, /promshard_controller_shard_in_sync\{shard="web\.s1"\} 1/);
    // The API and the dashboard say which split of which shard each unit is.
    const s1 = await api(url, '/v1/shards/web.s1');
    assert.deepEqual(s1.body.split, { shard: 'web', index: 1, count: 2, by: '__address__' });
    assert.equal(s1.body.targetCount, expected(1).length);
    assert.equal((await api(url, '/v1/shards/storage')).body.split, null);
    const page = await api(url, '/shards/web.s1');
    assert.equal(page.status, 200);
    assert.match(page.body, /<dd class="split">1 of 2 \(numbered from 0\) of shard <bdi>web<\/bdi>/);
    const overview = await api(url, '/');
    assert.match(overview.body, /data-shard="web\.s0"[\s\S]*<dd class="split">0 of 2/);

    // Rollouts are per split: split 1's first replica cannot prove the new document (its Prometheus
    // is down), so split 1 halts there and holds its second replica, while split 0 rolls out.
    const [s1a, s1b] = replicas.filter((x) => x.shard === 'web.s1');
    await s1a!.prometheus.stop();
    const sha2 = repo.commit({ 'teams/web/main.yaml': webTeam([...TARGETS, '127.0.0.1:21999', '127.0.0.1:21998']) });
    assert.equal(await webhook(url), 202);
    await waitFor('split 0 on the new revision while split 1 is halted', () => allOnRevision(replicas.filter((r) => r.shard === 'web.s0'), sha2), 60_000);
    const halted = await waitFor('split 1 halted at its first replica', async () => {
      const v = (await api(url, '/v1/shards/web.s1')).body;
      const b = v.replicas.find((r: { replica: string }) => r.replica === 'b');
      return v.rollout?.failedReplica === 'a' && b?.state === 'held' ? v : null;
    }, 60_000);
    assert.notEqual(s1b!.agent.status().applied?.revision, sha2, 'the held replica keeps its configuration');
    assert.equal(halted.split.index, 1);
    assert.equal((await api(url, '/v1/shards/web.s0')).body.rollout?.failedReplica ?? null, null);
  } finally {
    await ctl.close();
    for (const r of replicas) await stopReplica(r);
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

test('a credential for split 0 is refused for split 1 (403), accepted for split 0; an unsplit shard\'s credential is unchanged', async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-split-cred-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  const secret = 'agent-secret-for-split-test-1f2e3d';
  repo.commit({ 'shards.yaml': SHARDS, 'teams/web/main.yaml': webTeam(TARGETS) });
  const ctl = await launchController(repo, stateDir, port, { agentSecret: secret });
  try {
    const token = deriveAgentToken(secret, { shard: 'web', split: 0, replica: 'a' });
    assert.equal(token, deriveAgentToken(secret, { shard: 'web.s0', replica: 'a' }));
    assert.equal(deriveAgentToken(secret, { shard: 'storage', replica: 'a' }), deriveAgentToken(secret, { shard: 'storage', split: undefined, replica: 'a' }));
    const register = (shard: string) => api(url, '/v1/agents/register', token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shard, replica: 'a', url: 'http://127.0.0.1:9' }) });
    const refused = await register('web.s1');
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    const pull = await api(url, '/v1/agents/desired?shard=web.s1&replica=a', token);
    assert.equal(pull.status, 403);
    assert.equal((await register('web.s0')).status, 200);
  } finally {
    await ctl.close();
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
