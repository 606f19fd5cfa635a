// Two (or three) `promshard controller --leader-elect` processes against the test Kubernetes API server
// (test API server at the HTTP level; no cluster here), with real agents and real Prometheus:
// - the leader SIGKILLed in the middle of a rollout: the follower takes over within lease duration +
//   retry period and finishes the rollout from what the agents report;
// - a partition: the old leader cannot reach the API but still reaches the agents, and keeps pushing
//   (fault injection: it ignores its renew deadline, as a paused or buggy leader would); every push it
//   makes after the new leader fenced the agents is refused with 409, and the refusal deposes it;
// - a graceful handover on SIGTERM in well under two seconds;
// - RBAC: a 403 on Leases shows on /v1/leader as a clear error; the process keeps serving, never leads.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { prometheusInstalled } from '../support/prometheus.ts';
import { killAllChildren } from '../support/fleet.ts';
import { teamFile, waitFor } from '../controller/helpers.ts';
import { LeaderFleet, LEASE_NAMESPACE } from './leader-fleet.ts';

const T = '(test API server at the HTTP level; no cluster here)';
const skip = !prometheusInstalled() && 'prometheus not installed';

after(async () => {
  await killAllChildren();
});

describe(`leader SIGKILLed mid-rollout; graceful handover on SIGTERM ${T}`, { skip }, () => {
  // Short durations keep the test short; the bench measures client-go's defaults.
  const fleet = new LeaderFleet({ leaseSeconds: 3, renewDeadline: '2s', retryPeriod: '500ms', agentOpts: { testDelayMs: 1500 } });
  after(() => fleet.close());

  it('the follower takes over within lease duration + retry and finishes the interrupted rollout', async () => {
    await fleet.start();
    const c1 = await fleet.controller('c1');
    await waitFor('c1 leads', async () => (await fleet.leader(c1)).isLeader);
    const c2 = await fleet.controller('c2');
    await waitFor('c2 follows c1', async () => (await fleet.leader(c2)).leader === 'c1');
    const [a, b] = fleet.replicas;
    const first = fleet.repo.git('rev-parse', 'HEAD').trim();
    await waitFor('both replicas run the first revision', () => a!.agent.status().applied?.revision === first && b!.agent.status().applied?.revision === first, 30_000);
    assert.equal(a!.agent.status().term, 1);
    assert.equal((await fleet.leader(c2)).isLeader, false);

    const next = fleet.repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9102'] }) });
    // Kill the leader while replica a applies the new revision: b has not been pushed yet.
    await waitFor('c1 is pushing the new revision to replica a', () => a!.agent.status().applying, 15_000, 5);
    assert.notEqual(b!.agent.status().applied?.revision, next);
    await c1.proc.kill('SIGKILL');
    const killedAt = performance.now();
    await waitFor('c2 leads', async () => (await fleet.leader(c2)).isLeader, 10_000, 20);
    const tookOverMs = performance.now() - killedAt;
    // c2 sees the Lease expire a lease duration after it last saw the record change (at most half a
    // retry period after c1's last renew, which came before the kill), at its next read: within lease +
    // retry of the kill. 500 ms more for this test's own polling and HTTP on a loaded 2-core machine.
    assert.ok(tookOverMs < 3000 + 500 + 500, `took over ${Math.round(tookOverMs)} ms after the SIGKILL (lease 3 s, retry 0.5 s)`);
    const info = await fleet.leader(c2);
    assert.equal(info.term, 2);
    await waitFor('both replicas run the new revision', () => a!.agent.status().applied?.revision === next && b!.agent.status().applied?.revision === next, 30_000);
    assert.equal(b!.agent.status().term, 2, 'replica b got the new revision from the new leader');
    assert.equal(a!.agent.status().term, 2, 'replica a (which finished c1\'s push on its own) was fenced by the new leader');
    const lease = fleet.api.getLease(LEASE_NAMESPACE, fleet.leaseName)!;
    assert.equal(lease.spec.holderIdentity, 'c2');
    assert.equal(lease.spec.leaseTransitions, 1);
    // The agent's status shows the new revision before its push answer reaches c2, so the rollout is
    // marked done a moment after: wait for it rather than read it once.
    let rollout: unknown = null;
    await waitFor('c2 marks the rollout done', async () => {
      const shards = await (await fetch(`${c2.url}/v1/shards`, { headers: { authorization: 'Bearer controller-test-token-8c1f0e2a' } })).json();
      const networking = shards.shards.find((s: { name: string }) => s.name === 'networking');
      rollout = networking.rollout;
      return (networking.rollout?.status ?? networking.rollout) === 'done';
    }, 10_000).catch(() => assert.fail(`rollout not done: ${JSON.stringify(rollout)}`));
    // The leader recorded the finished rollout on the StatefulSet.
    await waitFor('a RolloutFinished Event', () => fleet.api.events().some((e) => e.involvedObject?.name === 'prometheus-networking' && e.reason === 'RolloutFinished' && e.reportingInstance === 'c2'));

    // Graceful: SIGTERM the leader, a new follower takes over in about a second.
    const c3 = await fleet.controller('c3');
    await waitFor('c3 follows c2', async () => (await fleet.leader(c3)).leader === 'c2');
    const termAt = performance.now();
    const stopping = c2.proc.kill('SIGTERM');
    await waitFor('c3 leads', async () => (await fleet.leader(c3)).isLeader, 10_000, 20);
    const handoverMs = performance.now() - termAt;
    await stopping;
    assert.ok(handoverMs < 2000, `SIGTERM handover took ${Math.round(handoverMs)} ms`);
    assert.equal((await c2.proc.exited).code, 0);
    assert.equal((await fleet.leader(c3)).term, 3);
    await waitFor('c3 fences the agents at term 3', () => a!.agent.status().term === 3 && b!.agent.status().term === 3, 15_000);
  });
});

describe(`partition: the old leader still reaches the agents, and fencing refuses every push it makes ${T}`, { skip }, () => {
  const fleet = new LeaderFleet({ leaseSeconds: 3, renewDeadline: '2s', retryPeriod: '500ms' });
  after(() => fleet.close());

  it('pushes of the deposed leader get 409 at the agents; the new leader\'s revision stays', async () => {
    await fleet.start();
    const old = await fleet.controller('old', { PROMSHARD_FAULT_IGNORE_RENEW_DEADLINE: '1' });
    await waitFor('old leads', async () => (await fleet.leader(old)).isLeader);
    const fresh = await fleet.controller('new');
    const [a, b] = fleet.replicas;
    const first = fleet.repo.git('rev-parse', 'HEAD').trim();
    await waitFor('both replicas run the first revision at term 1', () => [a, b].every((r) => r!.agent.status().applied?.revision === first && r!.agent.status().term === 1), 30_000);

    fleet.api.partition(old.token, 'refuse');
    await waitFor('the new controller leads', async () => (await fleet.leader(fresh)).isLeader, 10_000);
    assert.equal((await fleet.leader(old)).isLeader, true, 'the old one still believes it leads (fault injection)');
    await waitFor('the new leader fenced both agents at term 2', () => [a, b].every((r) => r!.agent.status().term === 2), 15_000);

    // Both follow git; both push the new revision. Only the new leader's pushes are accepted.
    const next = fleet.repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9103'] }) });
    await waitFor('both replicas run the new revision', () => [a, b].every((r) => r!.agent.status().applied?.revision === next), 30_000);
    await waitFor('the old leader pushed and was refused', () => [a, b].some((r) => r!.agent.status().recent.some((x) => x.result === 'rejected' && x.error === 'term 1 is lower than term 2 already seen; a newer leader exists')), 15_000);
    for (const r of [a, b]) {
      const refused = r!.agent.status().recent.filter((x) => x.result === 'rejected');
      assert.ok(refused.every((x) => /term 1 is lower than term 2/.test(x.error ?? '')), JSON.stringify(refused));
    }
    // The 409 told it that a newer leader exists: it stepped down and pushes no more.
    await waitFor('the old controller stepped down', async () => !(await fleet.leader(old)).isLeader, 10_000);
    const pushesBefore = [a, b].map((r) => r!.agent.status().recent.length);
    fleet.repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9104'] }) });
    const last = fleet.repo.git('rev-parse', 'HEAD').trim();
    await waitFor('the new leader rolls out the last revision', () => [a, b].every((r) => r!.agent.status().applied?.revision === last), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    for (const [i, r] of [a, b].entries()) {
      const since = r!.agent.status().recent.slice(0, r!.agent.status().recent.length - pushesBefore[i]!);
      assert.ok(since.every((x) => x.result !== 'rejected'), `no more pushes from the deposed leader: ${JSON.stringify(since)}`);
    }
    assert.match(old.proc.output(), /stepped down: no longer leader, pushing stops/);
    assert.match(old.proc.output(), /an agent has seen term 2, above ours \(1\)/);
  });
});

describe(`RBAC: a 403 on Leases is a clear error, not a crash loop ${T}`, { skip }, () => {
  const fleet = new LeaderFleet({ leaseSeconds: 3, renewDeadline: '2s', retryPeriod: '500ms', replicas: ['a'] });
  after(() => fleet.close());

  it('the controller keeps serving, shows the 403 on /v1/leader and the metrics, and never pushes', async () => {
    await fleet.start();
    fleet.api.forbid('leases', 'kube-token-denied');
    const c = await fleet.controller('denied');
    await waitFor('the error shows', async () => (await fleet.leader(c)).lastError);
    const info = await fleet.leader(c);
    assert.equal(info.isLeader, false);
    assert.match(info.lastError!, /cannot get lease fleet\/promshard-controller-\w+: HTTP 403: leases\.coordination\.k8s\.io is forbidden: .*cannot get resource "leases".*RBAC/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(c.proc.alive(), 'still running');
    assert.equal((await fetch(`${c.url}/healthz`)).status, 200);
    const metrics = await (await fetch(`${c.url}/metrics`, { headers: { authorization: 'Bearer controller-test-token-8c1f0e2a' } })).text();
    assert.match(metrics, /promshard_controller_is_leader 0/);
    assert.match(metrics, /promshard_controller_lease_errors_total\{code="403"\} [1-9]/);
    assert.equal(fleet.replicas[0]!.agent.status().applied, null, 'nothing was pushed');
    const logLines = c.proc.output().split('\n').filter((l) => l.includes('Lease call failed'));
    assert.equal(logLines.length, 1, 'logged once, not every retry');
    // Granted: it leads and rolls out.
    fleet.api.allow('leases', 'kube-token-denied');
    await waitFor('leads once allowed', async () => (await fleet.leader(c)).isLeader, 5000);
    await waitFor('rolled out', () => fleet.replicas[0]!.agent.status().applied !== null, 30_000);
  });
});
