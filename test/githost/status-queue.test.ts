// The commit-status outbox and reporter against the loopback git host test server
// (test/support/githost-server.ts), with real revision records: only the leader writes and a new
// leader reports the recent revisions again; a full outbox, a refusing host and a host that keeps
// failing each drop with their own reason; a newer status replaces one still waiting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startGitHostServer, type GitHostServer } from '../support/githost-server.ts';
import { createGitHost } from '../../core/githost/index.ts';
import { createLogger } from '../../core/log/logger.ts';
import { RevisionLives, type RevisionLife } from '../../central-controller/revision-life.ts';
import { CommitStatusReporter } from '../../central-controller/commit-status/commit-status-reporter.ts';
import { StatusQueue } from '../../central-controller/commit-status/status-queue.ts';
import { soleController, type Leadership } from '../../central-controller/kubernetes/leadership.ts';
import { waitFor } from '../support/wait-for.ts';

const TOKEN = 'ghp_queue_test_token_55aa';
const log = createLogger({ component: 'test', write: () => undefined });
let srv: GitHostServer;

before(async () => {
  srv = await startGitHostServer();
  srv.addToken(TOKEN, 'write');
  srv.addRepo('github', 'acme/q');
});
after(() => srv.close());

const host = (token = TOKEN) => createGitHost({ kind: 'github', repo: 'acme/q', apiBase: srv.githubApi, token, timeoutMs: 2000, maxAttempts: 1, maxWaitMs: 0 });
const dropped = async (r: Registry, reason: string) => ((await r.getSingleMetric('promshard_controller_commit_status_dropped_total')!.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0);

function life(sha: string): RevisionLife {
  return {
    sha, generation: 1, message: 'm', author: 'a', committedAt: '', receivedAt: '', compiledAt: '', valid: true, findingCount: 0, findings: [], quarantined: [], held: null,
    shards: { net: { changed: true, outcome: 'applied', rolloutStartedAt: '2026-01-01T00:00:00.000Z', replicas: { a: { proven: true, appliedAt: '2026-01-01T00:00:00.200Z' } }, targets: [], targetsSettled: true } },
  };
}

/** A leadership this test can hand over, with the same interface the elector implements. */
function switchableLeadership(leading: boolean): Leadership & { set(v: boolean): void } {
  const base = soleController('test');
  const fns = new Set<(l: boolean) => void>();
  return {
    ...base,
    isLeader: () => leading,
    onChange: (fn) => (fns.add(fn), () => void fns.delete(fn)),
    set(v: boolean) {
      leading = v;
      for (const fn of fns) fn(v);
    },
  };
}

test('a follower writes nothing; once it leads it reports the recent revisions', async () => {
  const revisions = new RevisionLives();
  const leadership = switchableLeadership(false);
  const registry = new Registry();
  const reporter = new CommitStatusReporter({ host: host(), revisions, leadership, registry, log });
  try {
    const sha = 'f'.repeat(40);
    revisions.upsert(sha, () => life(sha));
    revisions.changed(sha);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(srv.repo('github', 'acme/q').statuses.filter((s) => s.sha === sha).length, 0);
    leadership.set(true);
    await waitFor('reported by the new leader', () => srv.repo('github', 'acme/q').statuses.some((s) => s.sha === sha && s.state === 'success'), 5000);
  } finally {
    reporter.close();
  }
});

test('drops are counted by reason: queue-full, refused (4xx), retries; a newer status replaces a waiting one', async () => {
  const registry = new Registry();
  const refusing = host('not-a-known-token-123');
  const q = new StatusQueue({ send: (sha, s) => refusing.setCommitStatus(sha, s), mayWrite: () => true, registry, log, maxQueued: 3, concurrency: 1, backoffBaseMs: 50, maxAttempts: 2 });
  for (let i = 0; i < 6; i++) q.push('1'.repeat(40), { state: 'pending', context: `promshard/s${i}`, description: 'x' });
  await waitFor('all sent or dropped', () => q.size === 0, 5000);
  assert.ok((await dropped(registry, 'queue-full')) >= 2, 'a full outbox dropped its oldest');
  await waitFor('refusals counted', async () => (await dropped(registry, 'refused')) >= 1, 5000);
  q.close();

  const registry2 = new Registry();
  srv.inject({ status: 503, match: /statuses/ }, Infinity);
  const q2 = new StatusQueue({ send: (sha, s) => host().setCommitStatus(sha, s), mayWrite: () => true, registry: registry2, log, backoffBaseMs: 50, maxAttempts: 3 });
  q2.push('2'.repeat(40), { state: 'pending', context: 'promshard/a', description: 'x' });
  await waitFor('dropped after its attempts', async () => (await dropped(registry2, 'retries')) === 1, 5000);
  srv.clearInjections();

  q2.close();
  srv.latencyMs = 300;
  const sha = '3'.repeat(40);
  // One sender: b is in flight while c waits, and c's newer status replaces it before it is sent.
  const q3 = new StatusQueue({ send: (sha, s) => host().setCommitStatus(sha, s), mayWrite: () => true, registry: new Registry(), log, concurrency: 1 });
  q3.push(sha, { state: 'pending', context: 'promshard/b', description: 'first' });
  q3.push(sha, { state: 'pending', context: 'promshard/c', description: 'other context' });
  q3.push(sha, { state: 'running', context: 'promshard/c', description: 'replaces the waiting one' });
  await waitFor('sent', () => q3.size === 0 && srv.repo('github', 'acme/q').statuses.filter((s) => s.sha === sha).length >= 2, 5000);
  await new Promise((r) => setTimeout(r, 400));
  srv.latencyMs = 0;
  const c = srv.repo('github', 'acme/q').statuses.filter((s) => s.sha === sha && s.context === 'promshard/c');
  assert.deepEqual(c.map((s) => s.description), ['replaces the waiting one']);
  q3.close();
});
