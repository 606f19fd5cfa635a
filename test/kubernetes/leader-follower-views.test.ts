// What a follower serves (two controllers electing on a Lease of the test API server, through
// client-node): /healthz stays 200, the read API and the dashboard work and say who leads, pulls get
// 404 (only the leader's documents carry its term), and the leadership metrics tell both apart.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api-server.ts';
import { GitRepo, launchController, newControllerPort, SHARDS_YAML, teamFile, TOKEN, waitFor } from '../controller/helpers.ts';
import { kubernetesLeaseStore } from '../../central-controller/kubernetes/leader-election.ts';
import type { RunningController } from '../../central-controller/start-controller.ts';

const T = '(test API server at the HTTP level; no cluster here)';

describe(`leader and follower views ${T}`, () => {
  let api: KubeApiServer;
  let repo: GitRepo;
  const dir = mkdtempSync(join(tmpdir(), 'promshard-follower-views-'));
  const controllers: RunningController[] = [];
  after(async () => {
    await Promise.all(controllers.map((c) => c.close()));
    await api?.close();
    repo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (identity: string) => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(writeKubeconfig(api, dir, { token: `views-${identity}`, namespace: 'fleet' }));
    const c = await launchController(repo, join(dir, identity), await newControllerPort(), {
      openReadAccess: true,
      leaderElection: { store: await kubernetesLeaseStore(kc, 'fleet', 'promshard-controller'), identity, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
    });
    controllers.push(c);
    return c;
  };
  const get = async (c: RunningController, path: string, token: string | null = TOKEN) => {
    const res = await fetch(c.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, text: await res.text() };
  };

  it('the follower is healthy, serves the API and dashboard saying who leads, and hands out no documents', async () => {
    api = await startKubeApiServer();
    repo = new GitRepo();
    repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    const leader = await start('ctl-0');
    await waitFor('ctl-0 leads', () => leader.runtime.leadership.isLeader());
    const follower = await start('ctl-1');
    await waitFor('ctl-1 knows the leader', () => follower.runtime.leadership.info().leader === 'ctl-0');

    assert.equal((await get(follower, '/healthz', null)).status, 200);
    const info = JSON.parse((await get(follower, '/v1/leader')).text);
    assert.deepEqual({ elected: info.elected, identity: info.identity, isLeader: info.isLeader, leader: info.leader, term: info.term, lease: info.lease }, { elected: true, identity: 'ctl-1', isLeader: false, leader: 'ctl-0', term: 1, lease: 'fleet/promshard-controller' });
    assert.equal(JSON.parse((await get(leader, '/v1/leader')).text).isLeader, true);

    // Followers compile like the leader: the same desired document.
    const doc = (c: RunningController) => get(c, '/v1/shards/networking/document').then((r) => JSON.parse(r.text).hash);
    assert.equal(await doc(follower), await doc(leader));

    const pull = await get(follower, '/v1/agents/desired?shard=networking&replica=a');
    assert.equal(pull.status, 404);
    assert.match(pull.text, /this controller is not the leader \(leader: ctl-0\)/);
    const pulled = await get(leader, '/v1/agents/desired?shard=networking&replica=a');
    assert.equal(pulled.status, 200);
    assert.equal(JSON.parse(pulled.text).term, 1, "the leader's document carries its term");

    const followerPage = await get(follower, '/', null);
    assert.equal(followerPage.status, 200);
    assert.match(followerPage.text, /id="leader-line">Follower <code><bdi>ctl-1<\/bdi><\/code>: <code><bdi>ctl-0<\/bdi><\/code> leads \(term 1\) and pushes/);
    assert.match((await get(leader, '/', null)).text, /id="leader-line">This controller \(<code><bdi>ctl-0<\/bdi><\/code>\) leads, term 1\./);

    const metrics = (c: RunningController) => get(c, '/metrics').then((r) => r.text);
    assert.match(await metrics(follower), /promshard_controller_is_leader 0/);
    assert.match(await metrics(leader), /promshard_controller_is_leader 1/);
    assert.match(await metrics(leader), /promshard_controller_leader_term 1/);
    assert.match(await metrics(leader), /promshard_controller_leadership_transitions_total\{to="leader"\} 1/);
    assert.match(await metrics(follower), /promshard_controller_leader_term 1/);

    // The leader closes (SIGTERM path): it releases the Lease and the follower takes over at term 2.
    const t0 = performance.now();
    await leader.close();
    controllers.splice(controllers.indexOf(leader), 1);
    await waitFor('ctl-1 leads', () => follower.runtime.leadership.isLeader(), 3000, 10);
    assert.ok(performance.now() - t0 < 1500);
    assert.equal(follower.runtime.leadership.term(), 2);
    const events = JSON.parse((await get(follower, '/v1/events')).text).events as { type: string; message: string }[];
    assert.ok(events.some((e) => e.type === 'leader-elected' && /ctl-1\) leads at term 2/.test(e.message)));
  });
});
