// Regressions found by the fault suite.
// Seed 3: a controller that starts — or restarts after kill -9 —
// while the head of main is invalid compiled only the head, had no last good revision in memory, and
// so served no desired document at all: agents that restarted or pulled got 404, and the shards'
// desired state was empty until someone fixed main. It must find the newest valid ancestor and keep
// serving it, while still reporting the head's findings.
// Seed 4: a valid commit followed within a second by an invalid one was never compiled (each fetch
// only compiles the head), so that valid update was lost: the fleet stayed on the commit before it.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { startController } from '../../central-controller/start-controller.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { createGitRepo } from '../support/git-repo.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TOKEN = 'invalid-head-token-91ac3e';
const SHARDS_YAML = `defaults:
  interval: 15s
  timeout: 5s
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
`;
const team = (targets: string[], key = 'targets') => `team: netops\nshard: networking\njobs:\n  - name: routers\n    ${key}: [${targets.map((t) => `"${t}"`).join(', ')}]\n`;

describe('controller started on an invalid head', () => {
  const repo = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': team(['127.0.0.1:9101']) });
  repo.write('teams/netops/routers.yaml', team(['127.0.0.1:9101', '127.0.0.1:9102']));
  const good = repo.commit('second valid');
  repo.write('teams/netops/routers.yaml', team(['127.0.0.1:9103'], 'targtes'));
  const bad1 = repo.commit('typo');
  repo.write('teams/netops/switches.yaml', 'team: netops\nshard: networking\njobs:\n  - name: routers\n    targets: ["127.0.0.1:1"]\n');
  const bad2 = repo.commit('duplicate job on top');
  const stateDirs: string[] = [];
  after(() => {
    repo.destroy();
    for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
  });

  const expected = buildShardDocuments(compileFiles({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': team(['127.0.0.1:9101', '127.0.0.1:9102']) }).model!, { revision: good, generation: 2, committedAt: '' }).get('networking')!;

  it('a valid commit buried under an invalid one before the controller fetched is still rolled out', async () => {
    const r = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': team(['127.0.0.1:9101']) });
    const stateDir = mkdtempSync(join(tmpdir(), 'promshard-invalid-head-'));
    stateDirs.push(stateDir);
    const c = await startController({ repo: r.dir, stateDir, token: TOKEN, webhookSecret: 'secret-secret', pollMs: 0, defaultMetrics: false, logWrite: () => undefined });
    try {
      r.write('teams/netops/routers.yaml', team(['127.0.0.1:9101', '127.0.0.1:9104']));
      const valid = r.commit('valid change');
      r.write('teams/netops/routers.yaml', team(['127.0.0.1:9105'], 'targtes'));
      const invalid = r.commit('typo right after');
      r.write('teams/netops/other.yaml', 'team: netops\nshard: networking\njobs:\n  - name: x\n    targtes: []\n');
      r.commit('another invalid one');
      await c.syncNow();
      assert.equal(c.state.repository.valid, false);
      assert.notEqual(c.state.repository.head?.sha, invalid);
      // The broken file is quarantined at its newest good version: the buried valid commit's.
      assert.equal(c.state.repository.quarantined.find((q) => q.file === 'teams/netops/routers.yaml')?.kept?.revision, valid, 'the buried valid version is the last good one');
      const want = buildShardDocuments(compileFiles({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': team(['127.0.0.1:9101', '127.0.0.1:9104']) }).model!, { revision: valid, generation: 2, committedAt: '' }).get('networking')!;
      assert.equal(c.state.shards.get('networking')?.desired?.hash, want.hash);
    } finally {
      await c.close();
      r.destroy();
    }
  });

  for (const fresh of [true, false]) {
    it(`serves the newest valid ancestor (${fresh ? 'fresh state directory' : 'restart on the same state directory'})`, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'promshard-invalid-head-'));
      stateDirs.push(stateDir);
      if (!fresh) {
        // First run sees the valid commit... then main moves on to invalid commits while it is down.
        const c0 = await startController({ repo: repo.dir, stateDir, token: TOKEN, webhookSecret: 'secret-secret', pollMs: 0, defaultMetrics: false, logWrite: () => undefined });
        await c0.close();
      }
      const c = await startController({ repo: repo.dir, stateDir, token: TOKEN, webhookSecret: 'secret-secret', pollMs: 0, defaultMetrics: false, logWrite: () => undefined });
      try {
        const get = async (path: string) => {
          const res = await fetch(c.url + path, { headers: { authorization: `Bearer ${TOKEN}` } });
          return { status: res.status, body: (await res.json()) as any };
        };
        const repoView = await get('/v1/repository');
        assert.equal(repoView.body.head.sha, bad2);
        assert.equal(repoView.body.valid, false);
        assert.ok(repoView.body.findings.some((f: any) => f.severity === 'error'), 'the head findings are still shown');
        // Both broken files are quarantined: routers.yaml at its version of `good` (found in the
        // history), the new switches.yaml left out; what is served equals `good`'s documents.
        assert.equal(repoView.body.quarantined.find((q: any) => q.file === 'teams/netops/routers.yaml')?.kept?.revision, good, 'last good version found in the history');
        const doc = await get('/v1/shards/networking/document');
        assert.equal(doc.status, 200);
        assert.equal(doc.body.hash, expected.hash);
        const pulled = await get('/v1/agents/desired?shard=networking&replica=a');
        assert.equal(pulled.status, 200, 'an agent pulling gets the last good document');
        assert.equal(pulled.body.hash, expected.hash);
        assert.notEqual(bad1, good);
      } finally {
        await c.close();
      }
    });
  }
});
