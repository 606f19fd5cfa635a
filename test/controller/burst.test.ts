// Bursts (issue 11, item 2): in a burst of commits, a shard's next rollout takes the newest desired
// document, and no replica reloads a revision that is already superseded. The canary shard (networking)
// goes first in every wave; the other shard (storage) waits for it and, once released, takes the newest
// document rather than walking through the revisions queued behind the canary.
// Real git, real agents and Prometheus, a real controller; each agent's apply history is the evidence.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ApplyRecord } from '../../core/protocol/agent-api.ts';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { prometheusInstalled } from '../support/prometheus.ts';
import { api, GitRepo, launchController, newControllerPort, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

const BURST = 20;
/** A push sent just before a newer revision was adopted may arrive just after: this much is not "superseded". */
const IN_FLIGHT_MS = 50;

const files = (i: number) => ({
  'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: [`127.0.0.1:${9100 + i}`] }),
  'teams/storage-core/ceph.yaml': teamFile('storage-core', 'storage', { ceph: [`127.0.0.1:${9300 + i}`] }),
});

describe('a burst of commits (real git, agents, Prometheus)', { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let repo: GitRepo;
  let stateDir: string;
  let controller: RunningController;
  let replicas: Replica[] = [];
  /** Every apply each replica recorded, gathered while the burst runs (the agents keep only their last 20). */
  const applies = new Map<string, Map<string, ApplyRecord>>();
  let sampler: NodeJS.Timeout | undefined;

  const sample = () => {
    for (const r of replicas) {
      const seen = applies.get(`${r.shard}/${r.replica}`) ?? new Map<string, ApplyRecord>();
      for (const rec of r.agent.status().recent) seen.set(`${rec.startedAt} ${rec.revision} ${rec.result}`, rec);
      applies.set(`${r.shard}/${r.replica}`, seen);
    }
  };

  before(async () => {
    repo = new GitRepo();
    repo.commit({ 'shards.yaml': SHARDS_YAML, ...files(0) });
    stateDir = tempDir('promshard-ctl-burst-');
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    for (const [shard, replica] of [['networking', 'a'], ['networking', 'b'], ['storage', 'a'], ['storage', 'b']]) replicas.push(await startReplica(shard, replica, url));
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, canaryShard: 'networking' });
    await waitFor('every replica runs the first commit', () => replicas.every((r) => r.agent.status().applied?.verified), 20_000);
    sampler = setInterval(sample, 25);
  });
  after(async () => {
    clearInterval(sampler);
    await controller?.close();
    for (const r of replicas) await stopReplica(r);
    repo?.destroy();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it(`${BURST} commits in a burst: every replica ends on the newest, and none reloads a superseded revision`, async (t) => {
    const shas: string[] = [];
    for (let i = 1; i <= BURST; i++) {
      shas.push(repo.commit(files(i), `burst ${i}`));
      assert.equal(await webhook(controller.url), 202);
      await new Promise((r) => setTimeout(r, i % 2 ? 150 : 600)); // sometimes the canary finishes between commits, sometimes not
    }
    const newest = shas.at(-1)!;
    await waitFor('every replica runs the newest commit', () => replicas.every((r) => r.agent.status().applied?.revision === newest && r.agent.status().applied?.verified), 60_000);
    sample();

    // When each revision was adopted (every commit changes both shards): the next adoption supersedes it.
    const adopted = (await api(controller.url, '/v1/events?limit=500')).body.events
      .filter((e: any) => e.type === 'repository-valid')
      .sort((x: any, y: any) => x.id - y.id)
      .map((e: any) => ({ revision: e.revision as string, at: Date.parse(e.at) }));
    const supersededAt = new Map<string, number>(adopted.map((a: { revision: string }, i: number) => [a.revision, adopted[i + 1]?.at ?? Infinity]));
    assert.ok(adopted.length >= 3, `the burst was adopted as several revisions (${adopted.length})`);

    const violations: string[] = [];
    const counts: Record<string, number> = {};
    for (const [replica, records] of applies) {
      const reloads = [...records.values()].filter((r) => r.result === 'applied' && shas.includes(r.revision));
      counts[replica] = reloads.length;
      for (const r of reloads) {
        const at = supersededAt.get(r.revision);
        if (at === undefined) violations.push(`${replica} reloaded ${r.revision.slice(0, 8)}, which the controller never adopted`);
        else if (Date.parse(r.startedAt) > at + IN_FLIGHT_MS) violations.push(`${replica} reloaded ${r.revision.slice(0, 8)} ${Date.parse(r.startedAt) - at} ms after it was superseded`);
      }
    }
    if (violations.length && process.env.BURST_DEBUG) {
      const evs = (await api(controller.url, '/v1/events?limit=500')).body.events.sort((x: any, y: any) => x.id - y.id);
      for (const e of evs) if (e.shard !== 'storage') console.log(e.at, e.type, e.replica ?? '', (e.revision ?? '').slice(0, 8), e.result ?? '');
      for (const r of applies.get('networking/b')!.values()) console.log('b', r.startedAt, r.revision.slice(0, 8), r.result);
    }
    t.diagnostic(`revisions adopted: ${adopted.length}; reloads per replica: ${JSON.stringify(counts)}`);
    assert.deepEqual(violations, [], `reloads per replica: ${JSON.stringify(counts)}`);
    // The shard behind the canary took only what was newest when it was released, not every revision.
    assert.ok(counts['storage/b'] < adopted.length, `storage/b reloaded ${counts['storage/b']} of ${adopted.length} adopted revisions`);
    const events = (await api(controller.url, '/v1/events?limit=500')).body.events;
    assert.ok(!events.some((e: any) => e.type === 'rollout-failed'), 'nothing failed');
  });
});
