// Split brain: two controllers, each following its own repository (think: a stale replica of the
// controller still following an old mirror), both pushing to the same replica. The agent refuses a
// lower generation than the one it runs, and a different document at the same one (409), so the
// first document to land wins and stays, whichever controller pushes or the agent pulls from; the
// losing controller reports the replica as failed ("replica runs a newer revision") instead of
// fighting: it never issues its document again above the winner's. Its next commit does get a
// generation above everything it has seen, and then it wins.
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
    old.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9102'] }) });
    current.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9201'] }) });
    current.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9202'] }) });
    currentHead = current.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9203'] }) });
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

  let winner: RunningController;
  let loser: RunningController;
  let loserRepo: GitRepo;

  it('the first document to land wins and stays; the other controller reports the replica as ahead of it', async () => {
    const oldHead = old.git('rev-parse', 'HEAD').trim();
    const won = await waitFor('the replica runs one of the two heads', () => {
      const applied = replica.agent.status().applied;
      return applied?.verified && [oldHead, currentHead].includes(applied.revision) && applied.revision;
    }, 15_000);
    [winner, loser, loserRepo] = won === currentHead ? [b, a, old] : [a, b, current];
    // Both controllers keep reconciling for a while: the replica must not flap.
    const seen = new Set<string>();
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      seen.add(replica.agent.status().applied!.revision);
      await a.reconcileNow();
      await b.reconcileNow();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...seen], [won], 'the replica never left the first document');
    const refusals = replica.agent.status().recent.filter((r) => r.result === 'rejected' && /generation/.test(r.error ?? ''));
    assert.ok(refusals.length >= 1, 'the other controller was refused with 409');
    const rec = loser.state.agents.get('networking', 'a')!;
    assert.match(rec.failure?.error ?? '', /newer revision/, 'the other controller says why it cannot converge');
    assert.equal(winner.state.agents.get('networking', 'a')!.applied?.revision, won);
  });

  it('when the other repository moves on (a new commit), that one wins', async () => {
    const newest = loserRepo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9104'] }) });
    await loser.syncNow();
    await waitFor('the replica runs the newest revision', async () => {
      await loser.reconcileNow();
      return replica.agent.status().applied?.revision === newest && replica.agent.status().applied?.verified;
    }, 15_000);
  });
});
