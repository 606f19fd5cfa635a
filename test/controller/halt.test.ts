// A replica whose Prometheus refuses the reload halts its shard's rollout (the other replica keeps
// the old configuration, the reconcile loop does not "repair" it onto the new one), and a failed
// canary halts the wave (other shards keep theirs). Once the refusing Prometheus is fixed, the
// retried replica takes the document and everything converges.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { PROMETHEUS_BIN, waitForReady } from '../support/prometheus.ts';
import { allOnRevision, api, GitRepo, launchController, metricValue, newControllerPort, runningConfig, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, TOKEN, waitFor, webhook, type Replica } from './helpers.ts';

describe('halted rollouts (real Prometheus refusing its reload)', () => {
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let net: Replica[];
  let storage: Replica;
  let first: string;
  let refusing: ChildProcess | null = null;
  const logs: string[] = [];

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
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, canaryShard: 'networking' }, logs);
    await waitFor('initial rollout', () => allOnRevision([...net, storage], first), 20000);
  });

  after(async () => {
    refusing?.kill('SIGKILL');
    await controller?.close();
    await Promise.all([...(net ?? []), storage].filter(Boolean).map(stopReplica));
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('replica a refuses: shard halts with b on the old configuration, the wave halts, a is retried, then all converge', async () => {
    // Replace replica a's Prometheus by one without --web.enable-lifecycle: POST /-/reload answers 403,
    // so its agent cannot reload and rolls back. A real refusal by a real Prometheus.
    const a = net[0];
    await a.prometheus.stop();
    refusing = spawn(PROMETHEUS_BIN, [`--config.file=${a.configFile}`, `--web.listen-address=127.0.0.1:${a.prometheus.port}`, `--storage.tsdb.path=${join(a.prometheus.dir, 'data')}`, '--log.level=warn'], { stdio: 'ignore' });
    await waitForReady(a.prometheus.url);

    const bAppliesBefore = await metricValue(net[1].agent.url, 'promshard_agent_applies_total');
    const second = repo.commit({
      'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9102'] }),
      'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: ['127.0.0.1:9201', '127.0.0.1:9202'] }),
    });
    assert.equal(await webhook(controller.url), 202);
    const failed = await waitFor('networking rollout failed at a', async () => {
      const { body } = await api(controller.url, '/v1/shards/networking');
      return body.rollout?.status === 'failed' && body.rollout.revision === second ? body : undefined;
    });
    assert.equal(failed.rollout.failedReplica, 'a');
    const ra = failed.replicas.find((r: any) => r.replica === 'a');
    assert.equal(ra.state, 'failed');
    assert.match(ra.error, /403|lifecycle|not proven|refused/i);
    assert.equal(ra.lastPush.result, 'rolled-back');

    // Three reconcile rounds later: b still runs the first revision, untouched; storage was never released.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(net[1].agent.status().applied?.revision, first);
    assert.doesNotMatch(await runningConfig(net[1].prometheus.url), /9102/);
    assert.equal(await metricValue(net[1].agent.url, 'promshard_agent_applies_total'), bAppliesBefore, 'nothing pushed to b');
    // b pulling on its own gets the last proven document, not the refused one.
    const pulled = await api(controller.url, '/v1/agents/desired?shard=networking&replica=b');
    assert.equal(pulled.body.revision, first);
    assert.equal(storage.agent.status().applied?.revision, first, 'storage (after the canary) keeps its configuration');
    const shards = await api(controller.url, '/v1/shards');
    assert.equal(shards.body.wave.status, 'halted');
    assert.equal(shards.body.wave.canary, 'networking');
    const retried = controller.state.agents.get('networking', 'a')!.failure!;
    assert.ok(retried.attempts >= 2, `a retried with backoff (${retried.attempts} attempts)`);
    assert.ok((await metricValue(controller.url, 'promshard_controller_rollouts_total', { outcome: 'failed' })) >= 1);
    const events = (await api(controller.url, '/v1/events?limit=200')).body.events;
    assert.ok(events.some((e: any) => e.type === 'rollout-failed' && e.shard === 'networking'));
    assert.ok(events.some((e: any) => e.type === 'wave-halted'));
    // Honest states (issue 11, item 3): replicas kept back by a halt say `held` and why, not `rolling-out`.
    const netView = shards.body.shards.find((s: any) => s.name === 'networking');
    const rb = netView.replicas.find((r: any) => r.replica === 'b');
    assert.equal(rb.state, 'held', JSON.stringify(rb));
    assert.match(rb.reason, /halted at replica a/);
    assert.match(netView.rollout.haltReason, /refused the configuration/);
    const storageView = shards.body.shards.find((s: any) => s.name === 'storage');
    assert.equal(storageView.replicas[0].state, 'held', JSON.stringify(storageView.replicas[0]));
    assert.match(storageView.replicas[0].reason, /canary shard networking failed/);
    assert.match(storageView.heldBy, /canary shard networking failed/);
    await controller.reconcileNow();
    assert.equal(await metricValue(controller.url, 'promshard_controller_agents', { state: 'held' }), 2);
    assert.equal(await metricValue(controller.url, 'promshard_controller_agents', { state: 'rolling-out' }), 0);
    const page = await (await fetch(`${controller.url}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    assert.match(page, /data-replica="b" data-state="held"/);
    assert.match(page, /halted at replica a/);

    // Fix replica a's Prometheus: the next retry takes, then b, then the rest of the wave.
    const exited = new Promise((r) => refusing!.once('exit', r));
    refusing.kill('SIGTERM');
    await exited;
    refusing = null;
    await a.prometheus.restart();
    await waitFor('everyone on the second revision', () => allOnRevision([...net, storage], second), 20000).catch(async (err) => {
      console.error(JSON.stringify((await api(controller.url, '/v1/shards')).body, null, 1));
      console.error(JSON.stringify([...net, storage].map((r) => r.agent.status()), null, 1));
      console.error(logs.filter((l) => /warn|error/.test(l)).slice(-30).join('\n'));
      throw err;
    });
    assert.match(await runningConfig(net[1].prometheus.url), /9102/);
    assert.match(await runningConfig(storage.prometheus.url), /9202/);
    // Replica a proves the document itself once its Prometheus is back; the reconcile loop kicks the
    // worker while the record is open, and its pass records the rollout done.
    await waitFor('rollout done', async () => (await api(controller.url, '/v1/shards/networking')).body.rollout.status === 'done', 15000).catch(async (err) => {
      console.error('networking as the controller sees it:', JSON.stringify((await api(controller.url, '/v1/shards/networking')).body, null, 1));
      console.error('networking agents:', JSON.stringify(net.map((r) => r.agent.status()), null, 1));
      throw err;
    });
  });
});
