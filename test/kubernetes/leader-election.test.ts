// The election state machine against the test API server, through client-node 1.4 (the store the
// controller uses): races end in exactly one leader by 409, a replace always carries resourceVersion,
// times go out as MicroTime, a partitioned leader steps down before its Lease can expire, a stopped
// leader hands over at once, a 403 is a clear error and not a crash, and terms only grow.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { createLogger } from '../../core/log/logger.ts';
import { LeaderElector, kubernetesLeaseStore, TERM_ANNOTATION } from '../../central-controller/kubernetes/leader-election.ts';

const T = '(test API server at the HTTP level; no cluster here)';
const NS = 'fleet';
let server: KubeApiServer;
let dir: string;
const electors: LeaderElector[] = [];
let leaseN = 0;

before(async () => {
  server = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'leader-election-'));
});
after(async () => {
  await Promise.all(electors.map((e) => e.stop(false)));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A candidate with its own token (so the server can partition or forbid it alone). */
async function candidate(identity: string, lease: string, o: { agentsTerm?: number; leaseMs?: number; logs?: string[] } = {}): Promise<LeaderElector> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(writeKubeconfig(server, dir, { token: `token-${identity}`, namespace: NS }));
  const store = await kubernetesLeaseStore(kc, NS, lease);
  const e = new LeaderElector({
    store,
    identity,
    leaseDurationMs: o.leaseMs ?? 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 300,
    agentsTerm: () => o.agentsTerm ?? 0,
    log: createLogger({ component: identity, write: (l) => o.logs?.push(l) }),
  });
  electors.push(e);
  return e;
}

const leaseName = () => `promshard-controller-${++leaseN}`;
const leaders = (es: LeaderElector[]) => es.filter((e) => e.isLeader());
const leaseRequests = (name: string) => server.requests.filter((r) => r.path.includes(`/leases`) && (r.path.endsWith(`/${name}`) || r.method === 'POST'));

test(`two candidates racing for an absent Lease: one wins, the other gets 409 and follows; MicroTime and term on the Lease ${T}`, async () => {
  const name = leaseName();
  const a = await candidate('a', name);
  const b = await candidate('b', name);
  a.start();
  b.start();
  await waitFor('a leader', () => leaders([a, b]).length === 1);
  // Watch for a while: never two leaders at once.
  for (let i = 0; i < 20; i++) {
    assert.ok(leaders([a, b]).length <= 1, 'two leaders at once');
    await new Promise((r) => setTimeout(r, 50));
  }
  const [leader] = leaders([a, b]);
  const follower = leader === a ? b : a;
  const lease = server.getLease(NS, name)!;
  assert.equal(lease.spec.holderIdentity, leader!.info().identity);
  assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime with six fractional digits');
  assert.match(lease.spec.acquireTime, /\.\d{6}Z$/);
  assert.equal(lease.metadata.annotations[TERM_ANNOTATION], '1');
  assert.equal(leader!.term(), 1);
  await waitFor('the follower knows who leads', () => follower.info().leader === leader!.info().identity);
  assert.equal(follower.info().term, 1);
  const reqs = leaseRequests(name);
  assert.ok(reqs.some((r) => r.method === 'POST' && r.status === 409), `the losing create got 409 AlreadyExists: ${JSON.stringify(reqs.map((r) => `${r.method} ${r.status}`))}`);
  assert.ok(!server.requests.some((r) => r.path.includes('/leases') && (r.status === 422 || r.status === 400)), 'no replace without resourceVersion (422) and no bad MicroTime (400), ever');
});

test(`racing to take over an expired Lease: the replace with a stale resourceVersion gets 409; exactly one takes it, term and leaseTransitions + 1 ${T}`, async () => {
  const name = leaseName();
  // A Lease left by a holder that died, term 4.
  const ghost = await candidate('ghost', name);
  ghost.start();
  await waitFor('ghost leads', () => ghost.isLeader());
  server.partition('token-ghost', 'refuse'); // it can no longer renew
  const a = await candidate('a2', name);
  const b = await candidate('b2', name);
  a.start();
  b.start();
  await waitFor('the ghost steps down at its renew deadline', () => !ghost.isLeader(), 3000);
  assert.ok(!leaders([a, b]).length, 'nobody takes the Lease before the ghost has stopped');
  await waitFor('a new leader', () => leaders([a, b]).length === 1, 6000);
  const lease = server.getLease(NS, name)!;
  assert.equal(lease.metadata.annotations[TERM_ANNOTATION], '2');
  assert.equal(lease.spec.leaseTransitions, 1);
  assert.equal(leaders([a, b])[0]!.term(), 2);
  const puts = leaseRequests(name).filter((r) => r.method === 'PUT' && r.token !== 'token-ghost');
  // Both read the same version and both tried to replace it at nearly the same time most runs; when
  // their reads did not coincide, the later one saw a live holder and did not try.
  assert.ok(puts.every((r) => r.status === 200 || r.status === 409), JSON.stringify(puts));
  assert.ok(!server.requests.some((r) => r.path.includes('/leases') && r.status === 422), 'never a replace without resourceVersion');
  server.heal('token-ghost');
});

test(`a leader cut off from the API stops leading at its renew deadline, before its Lease can expire; a follower takes over after the lease duration ${T}`, async () => {
  const name = leaseName();
  const a = await candidate('p-a', name);
  a.start();
  await waitFor('a leads', () => a.isLeader());
  const b = await candidate('p-b', name);
  b.start();
  await waitFor('b follows', () => b.info().leader === 'p-a');
  server.partition('token-p-a', 'hang'); // its calls never return: only its own timeouts save it
  const cut = performance.now();
  await waitFor('a steps down', () => !a.isLeader(), 3000, 10);
  const steppedDownAfter = performance.now() - cut;
  await waitFor('b leads', () => b.isLeader(), 6000, 10);
  const tookOverAfter = performance.now() - cut;
  assert.ok(steppedDownAfter <= 1500 + 50, `stepped down ${Math.round(steppedDownAfter)} ms after the cut (renew deadline 1500 ms)`);
  assert.ok(tookOverAfter >= 2000 - 400, `b took over ${Math.round(tookOverAfter)} ms after the cut, not before a lease duration from a's last renew`);
  assert.ok(tookOverAfter > steppedDownAfter, 'never two leaders');
  assert.equal(b.term(), 2);
  assert.match(a.info().lastError ?? '', /timed out/);
  server.heal('token-p-a');
  await waitFor('a sees b lead', () => a.info().leader === 'p-b' && a.info().lastError === null);
  assert.ok(!a.isLeader());
});

test(`stop(release) hands the Lease over within about a second instead of a lease duration ${T}`, async () => {
  const name = leaseName();
  const a = await candidate('r-a', name, { leaseMs: 10_000 });
  a.start();
  await waitFor('a leads', () => a.isLeader());
  const b = await candidate('r-b', name, { leaseMs: 10_000 });
  b.start();
  await waitFor('b follows', () => b.info().leader === 'r-a');
  const t0 = performance.now();
  await a.stop(true);
  assert.ok(!a.isLeader());
  assert.equal(server.getLease(NS, name)!.spec.holderIdentity, '');
  await waitFor('b leads', () => b.isLeader(), 5000, 10);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `handover took ${Math.round(ms)} ms (lease duration 10 s)`);
  assert.equal(b.term(), 2);
});

test(`RBAC: a 403 on Leases is a clear error, retried, not a crash; leadership follows once allowed ${T}`, async () => {
  const name = leaseName();
  const logs: string[] = [];
  server.forbid('leases', 'token-rbac');
  const e = await candidate('rbac', name, { logs });
  e.start();
  await waitFor('the error is known', () => e.info().lastError);
  assert.match(e.info().lastError!, /cannot get lease fleet\/promshard-controller-\d+: HTTP 403: leases\.coordination\.k8s\.io is forbidden.*RBAC/);
  assert.ok(!e.isLeader());
  await new Promise((r) => setTimeout(r, 1000));
  const errorLines = logs.filter((l) => l.includes('Lease call failed'));
  assert.equal(errorLines.length, 1, 'logged once, not every retry');
  server.allow('leases', 'token-rbac');
  await waitFor('leads once allowed', () => e.isLeader(), 3000);
  assert.equal(e.info().lastError, null);
});

test(`a new term is above every term agents reported, even when the Lease is created afresh ${T}`, async () => {
  const name = leaseName();
  const e = await candidate('t', name, { agentsTerm: 7 });
  e.start();
  await waitFor('leads', () => e.isLeader());
  assert.equal(e.term(), 8);
  assert.equal(server.getLease(NS, name)!.metadata.annotations[TERM_ANNOTATION], '8');
  // An agent then says it has seen a higher term: a newer leader exists; stop at once.
  e.observedTerm(9);
  assert.ok(!e.isLeader());
  // Next acquisition (the Lease still names us) goes above it.
  await waitFor('leads again', () => e.isLeader(), 3000);
  assert.equal(e.term(), 10);
});
