// A resharded split shard whose jobs are discovered (DNS names that do not resolve here: no DNS server
// on this machine, so the discovered target list stays empty), with two replicas on the new split.
// Replica b's agent answers but its Prometheus is stopped, so it cannot run the overlap document: the
// discovered targets must not be handed over on replica a's word alone, or b would lose the moved
// targets' series. Once b's Prometheus is back and b runs the document, the overlap ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { prometheusInstalled } from '../support/prometheus.ts';
import { allOnRevision, api, GitRepo, launchController, newControllerPort, startReplica, stopReplica, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

const skip = prometheusInstalled() ? false : 'prometheus not installed';
const shardsYaml = (split: number) => `defaults: { interval: 1s, timeout: 1s }
shards:
  - name: web
    replicas: 2
    split: ${split}
    budget: { max_series: 100000, max_targets: 1000 }
`;
const teamFile = `team: web
shard: web
jobs:
  - name: web-dns
    discovery:
      dns: { names: [nothing.promshard.invalid], type: A, port: 9100, refresh_interval: 1s }
    limits: { target_limit: 100 }
`;

test('discovered targets are handed over only once every reachable replica of the new split runs the overlap document', { skip, timeout: 120_000 }, async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-reshard-dns-ha-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  const replicas: Replica[] = [];
  const sha1 = repo.commit({ 'shards.yaml': shardsYaml(2), 'teams/web/main.yaml': teamFile });
  const ctl = await launchController(repo, stateDir, port, { reshardBoundMs: 90_000, reshardPollMs: 200 });
  try {
    for (const unit of ['web.s0', 'web.s1', 'web.s2']) for (const name of ['a', 'b']) replicas.push(await startReplica(unit, name, url));
    assert.equal(await webhook(url), 202);
    await waitFor('split 2 applied', () => allOnRevision(replicas.filter((r) => r.shard !== 'web.s2'), sha1), 60_000);
    const lagging = replicas.find((r) => r.shard === 'web.s2' && r.replica === 'b')!;
    await lagging.prometheus.stop();

    repo.commit({ 'shards.yaml': shardsYaml(3) });
    assert.equal(await webhook(url), 202);
    await waitFor('web.s2/a runs the overlap document', async () => replicas.find((r) => r.shard === 'web.s2' && r.replica === 'a')!.agent.status().applied?.verified === true, 30_000, 200);
    // Well past two scrape intervals of the discovery job: replica a alone would have been enough before.
    await new Promise((r) => setTimeout(r, 5000));
    const { body } = await api(url, '/v1/reshards');
    assert.equal(body.active.length, 1, `still overlapping: ${JSON.stringify(body.recent[0] ?? null)}`);
    assert.match(body.active[0].waitingFor, /web\.s2: 1 of 2 reachable replicas run the overlap document/);

    await lagging.prometheus.restart();
    const done = await waitFor('the overlap over', async () => {
      const b = (await api(url, '/v1/reshards')).body;
      return b.active.length === 0 ? b.recent[0] : undefined;
    }, 60_000, 300);
    assert.equal(done.expired, null);
    assert.equal(lagging.agent.status().applied?.verified, true, 'web.s2/b runs its document');
  } finally {
    await ctl.close();
    for (const r of replicas) await stopReplica(r);
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
