// End to end: git commits → webhook → controller → real agents → real Prometheus.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rmSync } from 'node:fs';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { activeTargets, allOnRevision, runningConfig, api, GitRepo, launchController, metricValue, newControllerPort, READ_TOKEN, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

describe('controller rollout (2 networking replicas + 1 storage replica, real Prometheus)', () => {
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let net: Replica[];
  let storage: Replica;
  const logs: string[] = [];
  let first: string;

  before(async () => {
    repo = new GitRepo();
    first = repo.commit({
      'shards.yaml': SHARDS_YAML,
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }),
      'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201'] }),
    });
    stateDir = tempDir('promshard-ctl-state-');
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    [net, storage] = await Promise.all([Promise.all([startReplica('networking', 'a', url, logs), startReplica('networking', 'b', url, logs)]), startReplica('storage', 'a', url, logs)]);
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000 }, logs);
    await waitFor('initial rollout on every replica', () => allOnRevision([...net, storage], first), 20000);
  });

  after(async () => {
    await controller?.close();
    await Promise.all([...(net ?? []), storage].filter(Boolean).map(stopReplica));
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('rolls the first revision out to every replica and reports them in sync', async () => {
    const { status, body } = await api(controller.url, '/v1/shards');
    assert.equal(status, 200);
    const networking = body.shards.find((s: any) => s.name === 'networking');
    assert.equal(networking.desired.revision, first);
    assert.deepEqual(
      networking.replicas.map((r: any) => [r.replica, r.state]),
      [
        ['a', 'in-sync'],
        ['b', 'in-sync'],
      ],
    );
    assert.equal(networking.targetCount, 1);
    assert.equal(networking.replicasDeclared, 2);
    assert.match(await runningConfig(net[0].prometheus.url), /127\.0\.0\.1:9101/);
    assert.match(await runningConfig(storage.prometheus.url), /127\.0\.0\.1:9201/);
    const repoView = await api(controller.url, '/v1/repository');
    assert.equal(repoView.body.valid, true);
    assert.equal(repoView.body.lastGood.sha, first);
    assert.equal(repoView.body.lastGood.generation, 1);
  });

  it('a commit adding a target reaches only its shard: both networking Prometheus scrape it, storage does not reload', async () => {
    const storageApplies = await metricValue(storage.agent.url, 'promshard_agent_applies_total', { result: 'applied' });
    const storageReloadTs = await metricValue(storage.prometheus.url, 'prometheus_config_last_reload_success_timestamp_seconds');
    const sha = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9102'] }) });
    const t0 = Date.now();
    assert.equal(await webhook(controller.url), 202);
    for (const r of net) {
      await waitFor(`new target on networking/${r.replica}`, async () => (await activeTargets(r.prometheus.url)).includes('routers/127.0.0.1:9102'), 10000, 20);
    }
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 5000, `commit to scrape took ${elapsed} ms`);
    assert.ok(await allOnRevision(net, sha));
    assert.equal(await metricValue(storage.agent.url, 'promshard_agent_applies_total', { result: 'applied' }), storageApplies, 'storage agent applied nothing');
    assert.equal(await metricValue(storage.prometheus.url, 'prometheus_config_last_reload_success_timestamp_seconds'), storageReloadTs, 'storage Prometheus did not reload');
    assert.equal(storage.agent.status().applied?.revision, first, 'storage keeps the revision that last changed it');
    const m = await metricValue(controller.url, 'promshard_controller_commit_to_applied_seconds_count');
    assert.ok(m >= 2, 'commit-to-applied observed');
  });

  it('an invalid commit (both changed files broken, so both quarantined) rolls out nothing and shows every finding; the next valid commit rolls out', async () => {
    const pushesBefore = await metricValue(controller.url, 'promshard_controller_pushes_total');
    const good = controller.state.repository.lastGood!.sha;
    const bad = repo.commit({
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', 'not a target'] }),
      'teams/storage-core/ceph.yaml': 'team: storage-core\nshard: nowhere\njobs:\n  - name: ceph\n    targets: ["127.0.0.1:9201"]\n',
    });
    assert.equal(await webhook(controller.url), 202);
    const view = await waitFor('invalid head', async () => {
      const r = await api(controller.url, '/v1/repository', READ_TOKEN);
      return r.body.head?.sha === bad ? r.body : undefined;
    });
    assert.equal(view.valid, false);
    // Both changed files are quarantined at their last good version: what is served is the head with
    // those versions, identical to the last good revision's documents, so nothing is pushed.
    assert.equal(view.lastGood.sha, bad);
    assert.deepEqual(view.quarantined.map((q: any) => q.file).sort(), ['teams/netops/routers.yaml', 'teams/storage-core/ceph.yaml']);
    const files = view.findings.filter((f: any) => f.severity === 'error').map((f: any) => f.file);
    assert.ok(files.includes('teams/netops/routers.yaml'), JSON.stringify(view.findings));
    assert.ok(files.includes('teams/storage-core/ceph.yaml'), JSON.stringify(view.findings));
    for (const f of view.findings) assert.match(f.location, /^teams\/[^:]+:\d+:\d+$/);
    assert.equal(await metricValue(controller.url, 'promshard_controller_repository_valid'), 0);
    await controller.reconcileNow();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await metricValue(controller.url, 'promshard_controller_pushes_total'), pushesBefore, 'nothing pushed');
    for (const r of net) assert.equal(r.agent.status().applied?.revision, good);
    const events = await api(controller.url, '/v1/events?limit=20');
    assert.ok(events.body.events.some((e: any) => e.type === 'file-quarantined' && e.revision === bad));

    const fixed = repo.commit({
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9103'] }),
      'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201'] }),
    });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('fixed revision on networking', () => allOnRevision(net, fixed), 10000);
    const cfg = await runningConfig(net[1].prometheus.url);
    assert.match(cfg, /127\.0\.0\.1:9103/);
    assert.doesNotMatch(cfg, /127\.0\.0\.1:9102/);
    assert.equal(await metricValue(controller.url, 'promshard_controller_repository_valid'), 1);
    assert.equal(storage.agent.status().applied?.revision, first, 'storage document unchanged by the fix');
  });

  it('ten commits in quick succession: every replica ends on the last one', async () => {
    let last = '';
    const hooks: Promise<number>[] = [];
    for (let i = 0; i < 10; i++) {
      last = repo.commit({
        'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', `127.0.0.1:${9300 + i}`] }),
        'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201', `127.0.0.1:${9400 + i}`] }),
      });
      hooks.push(webhook(controller.url));
      if (i % 3 === 0) await new Promise((r) => setTimeout(r, 15));
    }
    assert.deepEqual(await Promise.all(hooks), Array(10).fill(202));
    await waitFor('every replica on the last commit', () => allOnRevision([...net, storage], last), 20000);
    assert.match(await runningConfig(net[0].prometheus.url), /127\.0\.0\.1:9309/);
    assert.match(await runningConfig(storage.prometheus.url), /127\.0\.0\.1:9409/);
    await waitFor('controller sees every shard in sync', async () => (await api(controller.url, '/v1/shards')).body.shards.every((s: any) => s.inSync), 5000);
    assert.equal(await metricValue(controller.url, 'promshard_controller_shard_in_sync', { shard: 'networking' }), 1);
  });

  it('serves the desired document to pulling agents, teams, shard detail and the document', async () => {
    const d = await api(controller.url, '/v1/agents/desired?shard=networking&replica=a');
    assert.equal(d.status, 200);
    assert.equal(d.body.shard, 'networking');
    assert.equal(d.body.hash, net[0].agent.status().applied?.hash);
    assert.equal((await api(controller.url, '/v1/agents/desired?shard=nowhere&replica=a')).status, 404);
    const doc = await api(controller.url, '/v1/shards/networking/document', READ_TOKEN);
    assert.equal(doc.body.files[0].path, 'prometheus.yml');
    const detail = await api(controller.url, '/v1/shards/networking', READ_TOKEN);
    assert.equal(detail.body.jobs[0].team, 'netops');
    assert.equal(detail.body.jobs[0].file, 'teams/netops/routers.yaml');
    assert.ok(detail.body.history.length >= 2);
    const teams = await api(controller.url, '/v1/teams', READ_TOKEN);
    assert.deepEqual(
      teams.body.teams.map((t: any) => [t.team, t.shards]),
      [
        ['netops', ['networking']],
        ['storage-core', ['storage']],
      ],
    );
    const team = await api(controller.url, '/v1/teams/netops', READ_TOKEN);
    assert.equal(team.body.jobs[0].name, 'routers');
    assert.equal((await api(controller.url, '/v1/teams/nobody', READ_TOKEN)).status, 404);
    const flags = await api(controller.url, '/v1/flags?team=netops', READ_TOKEN);
    assert.deepEqual(flags.body, { flags: [] });
    const agents = await api(controller.url, '/v1/agents', READ_TOKEN);
    assert.equal(agents.body.agents.length, 3);
  });

  it('refuses a webhook without or with a wrong signature, and the API without a token', async () => {
    const headBefore = controller.state.repository.head!.sha;
    const appliedBefore = await metricValue(net[0].agent.url, 'promshard_agent_applies_total', { result: 'applied' });
    repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9999'] }) });
    assert.equal(await webhook(controller.url, { ref: 'refs/heads/main' }, 'wrong-secret-123456'), 401);
    const unsigned = await fetch(`${controller.url}/v1/webhook`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(unsigned.status, 401);
    const big = await fetch(`${controller.url}/v1/webhook`, { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
    assert.equal(big.status, 413);
    for (const path of ['/v1/repository', '/v1/shards', '/v1/shards/networking', '/v1/teams', '/v1/flags', '/v1/events', '/v1/agents/desired?shard=networking&replica=a']) {
      assert.equal((await api(controller.url, path, null)).status, 401, path);
      assert.equal((await api(controller.url, path, 'wrong-token-123456')).status, 401, path);
    }
    assert.equal((await api(controller.url, '/v1/sync', null, { method: 'POST' })).status, 401);
    assert.equal((await api(controller.url, '/v1/sync', READ_TOKEN, { method: 'POST' })).status, 401, 'read token cannot sync');
    assert.equal((await api(controller.url, '/v1/agents/report', READ_TOKEN, { method: 'POST' })).status, 401, 'read token cannot report');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(controller.state.repository.head!.sha, headBefore, 'nothing fetched');
    assert.equal(await metricValue(net[0].agent.url, 'promshard_agent_applies_total', { result: 'applied' }), appliedBefore, 'nothing applied');
    // POST /v1/sync with the admin token fetches now.
    const sync = await api(controller.url, '/v1/sync', undefined, { method: 'POST' });
    assert.equal(sync.status, 200);
    await waitFor('synced commit applied', async () => /127\.0\.0\.1:9999/.test(await runningConfig(net[0].prometheus.url)), 10000);
    assert.equal((await api(controller.url, '/healthz', null)).status, 200);
  });
});
