// Split brain: two controllers, each following its own repository (think: a stale replica of the
// controller still following an old mirror), both pushing to the same replica. The agent refuses a
// lower `sequence` than the one it runs (409), so the newest revision wins and stays, whichever
// controller pushes or the agent pulls from; the losing controller reports the replica as failed
// ("replica runs a newer revision") instead of fighting. When the other side moves past it, it wins.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { prometheusInstalled } from '../support/prometheus.ts';
import { GitRepo, SHARDS_YAML, startReplica, stopReplica, teamFile, TOKEN, waitFor, type Replica } from '../controller/helpers.ts';

describe('split brain: two controllers push different revisions to one replica', { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let old: GitRepo;
  let current: GitRepo;
  let a: RunningController;
  let b: RunningController;
  let replica: Replica;
  const dirs: string[] = [];
  let currentHead: string;

  const launch = (repo: GitRepo, agentUrl: string) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'promshard-split-'));
    dirs.push(stateDir);
    return startController({ repo: repo.dir, stateDir, token: TOKEN, webhookSecret: 'split-brain-secret', pollMs: 0, reconcileMs: 300, heartbeatTimeoutMs: 60_000, failureRetryBaseMs: 200, failureRetryMaxMs: 400, defaultMetrics: false, agents: [{ shard: 'networking', replica: 'a', url: agentUrl }], logWrite: () => undefined });
  };

  before(async () => {
    old = new GitRepo();
    current = new GitRepo();
    old.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    old.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9102'] }) }); // sequence 2
    current.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9201'] }) });
    current.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9202'] }) });
    currentHead = current.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9203'] }) }); // sequence 3
    replica = await startReplica('networking', 'a', undefined);
    [a, b] = await Promise.all([launch(old, replica.agent.url), launch(current, replica.agent.url)]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (replica) await stopReplica(replica);
    old?.destroy();
    current?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the higher sequence wins and stays; the other controller reports the replica as ahead of it', async () => {
    await waitFor('the replica runs the newer revision', () => replica.agent.status().applied?.revision === currentHead && replica.agent.status().applied?.verified, 15_000);
    // Both controllers keep reconciling for a while: the replica must not flap.
    const seen = new Set<string>();
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      seen.add(replica.agent.status().applied!.revision);
      await a.reconcileNow();
      await b.reconcileNow();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...seen], [currentHead], 'the replica never left the newer revision');
    const refusals = replica.agent.status().recent.filter((r) => r.result === 'rejected' && /older than the applied revision/.test(r.error ?? ''));
    assert.ok(refusals.length >= 1, 'the older controller was refused with 409');
    const rec = a.state.agents.get('networking', 'a')!;
    assert.match(rec.failure?.error ?? '', /newer revision/, 'the older controller says why it cannot converge');
    assert.equal(b.state.agents.get('networking', 'a')!.applied?.revision, currentHead);
  });

  it('when the other repository moves past it, that one wins', async () => {
    // Two more commits on the old repository: sequence 4 > 3.
    old.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9103'] }) });
    const newest = old.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9104'] }) });
    await a.syncNow();
    await waitFor('the replica runs the newest revision', async () => {
      await a.reconcileNow();
      return replica.agent.status().applied?.revision === newest && replica.agent.status().applied?.verified;
    }, 15_000);
  });
});
