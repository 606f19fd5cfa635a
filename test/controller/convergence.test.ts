// Convergence without remembered events: an agent down during a rollout catches up when it returns;
// a controller restarted mid-rollout finishes the job; a restarted controller pushes nothing to
// agents that already run the desired document; static agents (--agents-file) that never register
// are polled and pushed to.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { allOnRevision, api, GitRepo, launchController, metricValue, newControllerPort, runningConfig, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

describe('convergence (agent down, controller restarts, static agents)', () => {
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let port: number;
  let net: Replica[];
  let staticStorage: Replica;
  let agentsFile: string;
  const logs: string[] = [];

  before(async () => {
    repo = new GitRepo();
    const first = repo.commit({
      'shards.yaml': SHARDS_YAML,
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }),
      'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201'] }),
    });
    stateDir = tempDir('promshard-ctl-state-');
    port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    // storage/a has no controller URL: it never registers nor reports; the controller knows it only from the agents file.
    [net, staticStorage] = await Promise.all([Promise.all([startReplica('networking', 'a', url, logs), startReplica('networking', 'b', url, logs)]), startReplica('storage', 'a', undefined, logs)]);
    agentsFile = join(stateDir, '..', `agents-${port}.yaml`);
    writeFileSync(agentsFile, `agents:\n  - { shard: storage, replica: a, url: "${staticStorage.agent.url}" }\n`);
    controller = await launchController(repo, stateDir, port, { agentsFile }, logs);
    await waitFor('initial rollout (registered and static agents)', () => allOnRevision([...net, staticStorage], first), 20000);
  });

  after(async () => {
    await controller?.close();
    await Promise.all([...(net ?? []), staticStorage].filter(Boolean).map(stopReplica));
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(agentsFile, { force: true });
  });

  it('an agent down during a rollout is skipped, shown unreachable, and converges when it comes back', async () => {
    const [a, b] = net;
    await a.stopAgent();
    const sha = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9102'] }) });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('b on the new revision', () => allOnRevision([b], sha), 15000);
    const states = await waitFor('a shown unreachable', async () => {
      const { body } = await api(controller.url, '/v1/shards/networking');
      const ra = body.replicas.find((r: any) => r.replica === 'a');
      return ra.state === 'unreachable' ? body : undefined;
    });
    assert.equal(states.inSync, false);
    assert.ok(states.lagSeconds > 0);
    assert.ok((await metricValue(controller.url, 'promshard_controller_agents', { state: 'unreachable' })) >= 1);
    assert.doesNotMatch(await runningConfig(a.prometheus.url), /9102/);
    await a.restartAgent();
    await waitFor('a converged after coming back', () => allOnRevision([a], sha), 15000);
    assert.match(await runningConfig(a.prometheus.url), /9102/);
    await waitFor('controller sees a in sync', async () => (await api(controller.url, '/v1/shards/networking')).body.inSync, 5000);
  });

  it('a controller restarted mid-rollout converges', async () => {
    const sha = repo.commit({
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9103'] }),
      'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201', '127.0.0.1:9203'] }),
    });
    assert.equal(await webhook(controller.url), 202);
    await new Promise((r) => setTimeout(r, 30)); // the fetch/compile/first push is under way
    await controller.close();
    controller = await launchController(repo, stateDir, port, { agentsFile }, logs);
    await waitFor('every replica on the new revision', () => allOnRevision([...net, staticStorage], sha), 20000);
    await waitFor('controller sees all in sync', async () => (await api(controller.url, '/v1/shards')).body.shards.every((s: any) => s.inSync), 5000);
  });

  it('a restarted controller re-pushes nothing to agents that already run the desired document', async () => {
    const appliesBefore = await Promise.all([...net, staticStorage].map((r) => metricValue(r.agent.url, 'promshard_agent_applies_total')));
    await controller.close();
    // Without the agents file: the persisted registry alone must know storage/a.
    controller = await launchController(repo, stateDir, port, {}, logs);
    const { body } = await api(controller.url, '/v1/shards');
    for (const s of body.shards) {
      assert.equal(s.inSync, true, `${s.name} in sync right after start`);
      for (const r of s.replicas) assert.equal(r.state, 'in-sync', `${s.name}/${r.replica}`);
    }
    await new Promise((r) => setTimeout(r, 2500)); // a few reconcile rounds and heartbeats
    await controller.reconcileNow();
    assert.equal(await metricValue(controller.url, 'promshard_controller_pushes_total'), 0, 'no push at all');
    const appliesAfter = await Promise.all([...net, staticStorage].map((r) => metricValue(r.agent.url, 'promshard_agent_applies_total')));
    assert.deepEqual(appliesAfter, appliesBefore, 'no agent applied anything');
  });
});
