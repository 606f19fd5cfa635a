// A revision's life end to end (issue 13, item 3): real git, real agents, real Prometheus. A commit
// adds a job whose target is up (the replica's own Prometheus) and one whose target refuses
// connections; the controller's record at /v1/revisions/:sha says where the commit landed (each
// replica proven), that the first target is up with its first successful scrape, that the second is
// down with Prometheus's own error, and the commit→first-scrape histogram is observed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, PROMETHEUS_BIN, waitForReady } from '../support/prometheus.ts';
import { api, GitRepo, launchController, metricValue, newControllerPort, READ_TOKEN, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from '../controller/helpers.ts';

// 1 s scrapes so that the first scrape follows the reload by the discovery floor (~5 s), not by 15 s.
export const FAST_SHARDS_YAML = `defaults:
  interval: 1s
  timeout: 1s
shards:
  - name: apps
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
  - name: storage
    replicas: 1
    budget: { max_series: 100000, max_targets: 100 }
`;

describe('revision life: target health per revision (2 apps replicas + 1 storage, real Prometheus)', () => {
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let apps: Replica[];
  let storage: Replica;
  const logs: string[] = [];
  let first: string;
  let sha: string;
  let upAddress: string;
  let downAddress: string;
  let refusing: ChildProcess | null = null;

  before(async () => {
    repo = new GitRepo();
    first = repo.commit({
      'shards.yaml': FAST_SHARDS_YAML,
      'teams/web/web.yaml': teamFile('web', 'apps', { frontend: ['127.0.0.1:9'] }),
      'teams/disk/disk.yaml': teamFile('disk', 'storage', { ceph: ['127.0.0.1:9'] }),
    });
    stateDir = tempDir('promshard-rev-state-');
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    [apps, storage] = await Promise.all([Promise.all([startReplica('apps', 'a', url, logs), startReplica('apps', 'b', url, logs)]), startReplica('storage', 'a', url, logs)]);
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, targetHealthPollMs: 250, targetHealthBoundMs: 25_000 }, logs);
    await waitFor('first revision on every replica', () => [...apps, storage].every((r) => r.agent.status().applied?.revision === first), 20_000);
    upAddress = new URL(apps[0].prometheus.url).host; // Prometheus scrapes its own /metrics: up
    downAddress = `127.0.0.1:${await freePort()}`; // nothing listens: connection refused
  });

  after(async () => {
    refusing?.kill('SIGKILL');
    await controller?.close();
    await Promise.all([...(apps ?? []), storage].filter(Boolean).map(stopReplica));
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('records the commit, where it landed, the new target up with its first scrape and the down one with Prometheus\'s error', async () => {
    sha = repo.commit({ 'teams/web/web.yaml': teamFile('web', 'apps', { frontend: ['127.0.0.1:9'], selfscrape: [upAddress], broken: [downAddress] }) }, 'web: add selfscrape and broken');
    assert.equal(await webhook(controller.url), 202);
    const settled = await waitFor(
      'the apps shard of the revision settles its targets',
      async () => {
        const { status, body } = await api(controller.url, `/v1/revisions/${sha}`, READ_TOKEN);
        return status === 200 && body.shards.apps?.targets.find((t: any) => t.job === 'selfscrape')?.health === 'up' && body.shards.apps.targets.find((t: any) => t.job === 'broken')?.health === 'down' ? body : null;
      },
      30_000,
      250,
    );
    assert.equal(settled.sha, sha);
    assert.equal(settled.message, 'web: add selfscrape and broken');
    assert.equal(settled.author, 't');
    assert.equal(settled.valid, true);
    assert.ok(Date.parse(settled.receivedAt) <= Date.parse(settled.compiledAt));
    const appsLife = settled.shards.apps;
    assert.equal(appsLife.changed, true);
    assert.equal(appsLife.outcome, 'applied');
    assert.deepEqual(Object.keys(appsLife.replicas).sort(), ['a', 'b']);
    for (const r of Object.values(appsLife.replicas) as any[]) {
      assert.equal(r.proven, true);
      assert.equal(r.result, 'applied');
      assert.ok(Date.parse(r.appliedAt) >= Date.parse(settled.receivedAt));
    }
    // Only what the commit added is watched: frontend did not change.
    assert.deepEqual(appsLife.targets.map((t: any) => `${t.job}/${t.address}/${t.change}`).sort(), [`broken/${downAddress}/added`, `selfscrape/${upAddress}/added`]);
    const up = appsLife.targets.find((t: any) => t.job === 'selfscrape');
    assert.equal(up.team, 'web');
    assert.ok(up.firstScrapeAt, 'first successful scrape time');
    assert.ok(Date.parse(up.firstScrapeAt) >= Date.parse(settled.receivedAt) - 1000, 'first scrape after the commit arrived');
    assert.equal(up.lastError, undefined);
    const down = appsLife.targets.find((t: any) => t.job === 'broken');
    assert.match(down.lastError, /connection refused/);
    assert.equal(down.firstScrapeAt, undefined);
    // The storage shard did not change.
    assert.deepEqual(settled.shards.storage, { changed: false, outcome: 'unchanged', replicas: {}, targets: [], targetsSettled: true });
  });

  it('observes commit → first scrape once per target that came up, beside commit → applied', async () => {
    assert.equal(await metricValue(controller.url, 'promshard_controller_commit_to_first_scrape_seconds_count'), 1);
    const sum = await metricValue(controller.url, 'promshard_controller_commit_to_first_scrape_seconds_sum');
    assert.ok(sum > 0 && sum < 30, `commit → first scrape ${sum} s`);
    assert.ok((await metricValue(controller.url, 'promshard_controller_commit_to_applied_seconds_count')) >= 1);
  });

  it('lists revisions newest first, filters by team, and answers 404 for an unknown one', async () => {
    const list = await api(controller.url, '/v1/revisions', READ_TOKEN);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.revisions.map((r: any) => r.sha).slice(0, 2), [sha, first]);
    const web = await api(controller.url, '/v1/revisions?team=web', READ_TOKEN);
    assert.deepEqual(web.body.revisions.map((r: any) => r.sha), [sha]);
    const disk = await api(controller.url, '/v1/revisions?team=disk', READ_TOKEN);
    assert.deepEqual(disk.body.revisions, []);
    assert.equal((await api(controller.url, `/v1/revisions/${sha.slice(0, 12)}`, READ_TOKEN)).body.sha, sha);
    assert.equal((await api(controller.url, '/v1/revisions/0000000000000000000000000000000000000000', READ_TOKEN)).status, 404);
    assert.equal((await api(controller.url, `/v1/revisions/${sha}`, null)).status, 401);
  });

  it('a changed job\'s target counts as changed, and its first scrape is one under the new revision', async () => {
    const yaml = `team: web\nshard: apps\njobs:\n  - name: frontend\n    targets: ["127.0.0.1:9"]\n  - name: selfscrape\n    targets: ["${upAddress}"]\n    labels: { tier: "gold" }\n  - name: broken\n    targets: ["${downAddress}"]\n`;
    const changed = repo.commit({ 'teams/web/web.yaml': yaml }, 'web: label selfscrape');
    assert.equal(await webhook(controller.url), 202);
    const life = await waitFor('the changed target up again', async () => {
      const { body } = await api(controller.url, `/v1/revisions/${changed}`, READ_TOKEN);
      return body.shards?.apps?.targets?.[0]?.firstScrapeAt ? body : null;
    }, 30_000, 250);
    assert.deepEqual(life.shards.apps.targets.map((t: any) => `${t.job}/${t.change}/${t.health}`), ['selfscrape/changed/up']);
    const appliedAt = Math.min(...Object.values(life.shards.apps.replicas).map((r: any) => Date.parse(r.appliedAt)));
    assert.ok(Date.parse(life.shards.apps.targets[0].firstScrapeAt) >= appliedAt - 1000, 'a scrape under the new configuration, not one from before the reload');
  });

  it('a target whose scrape pool Prometheus cannot build is reported as never listed, with why', async () => {
    // promtool does not read a ca_file's contents, and Prometheus 2.42 reloads fine but leaves the
    // job out ("error creating HTTP client"): the author must still hear that nothing scrapes it.
    const secrets = tempDir('promshard-rev-secrets-');
    mkdirSync(join(secrets, 'web'));
    writeFileSync(join(secrets, 'web', 'bad-ca.pem'), 'not a certificate\n');
    const yaml = `team: web\nshard: apps\njobs:\n  - name: frontend\n    targets: ["127.0.0.1:9"]\n  - name: tls-broken\n    scheme: https\n    targets: ["127.0.0.1:9"]\n    tls: { ca_file: ${join(secrets, 'web', 'bad-ca.pem')} }\n`;
    const sha = repo.commit({ 'shards.yaml': `secrets_root: ${secrets}\n${FAST_SHARDS_YAML}`, 'teams/web/web.yaml': yaml }, 'web: a CA file that is not a certificate');
    assert.equal(await webhook(controller.url), 202);
    const life = await waitFor('the health watch to give up on it', async () => {
      const { body } = await api(controller.url, `/v1/revisions/${sha}`, READ_TOKEN);
      return body.shards?.apps?.targetsSettled && body.shards.apps.outcome === 'applied' ? body : null;
    }, 40_000, 250);
    const t = life.shards.apps.targets.find((x: any) => x.job === 'tls-broken');
    assert.equal(t.health, 'unknown');
    assert.match(t.lastError, /no replica's Prometheus listed this target within 25 s/);
    rmSync(secrets, { recursive: true, force: true });
  });

  it('a configuration Prometheus refuses is recorded as refused, with Prometheus\'s answer, and proves nothing', async () => {
    // Replica a's Prometheus restarted without --web.enable-lifecycle: POST /-/reload answers 403, the
    // agent rolls back (as in test/controller/halt.test.ts). A real refusal by a real Prometheus.
    const a = apps[0];
    await a.prometheus.stop();
    refusing = spawn(PROMETHEUS_BIN, [`--config.file=${a.configFile}`, `--web.listen-address=127.0.0.1:${a.prometheus.port}`, `--storage.tsdb.path=${join(a.prometheus.dir, 'data')}`, '--log.level=warn'], { stdio: 'ignore' });
    await waitForReady(a.prometheus.url);
    const refused = repo.commit({ 'teams/web/web.yaml': teamFile('web', 'apps', { frontend: ['127.0.0.1:9'], later: ['127.0.0.1:9'] }) }, 'web: add later');
    assert.equal(await webhook(controller.url), 202);
    const life = await waitFor('the refusal in the record', async () => {
      const { body } = await api(controller.url, `/v1/revisions/${refused}`, READ_TOKEN);
      return body.shards?.apps?.outcome === 'refused' ? body : null;
    }, 30_000, 250);
    assert.match(life.shards.apps.reason, /Prometheus refused/);
    assert.match(life.shards.apps.prometheusError, /403|lifecycle/i);
    assert.equal(life.shards.apps.replicas.a.result, 'rolled-back');
    assert.equal(life.shards.apps.replicas.a.proven, false);
    assert.equal(life.shards.apps.replicas.b?.proven ?? false, false, 'b is held: the rollout halted at a');
    assert.ok(life.shards.apps.targets.every((x: any) => x.health === 'unknown' && !x.firstScrapeAt), 'nothing ran it: no health is claimed');
  });

  it('the agent endpoint needs the agent credential and bounds the job list', async () => {
    const agent = apps[0].agent.url;
    assert.equal((await fetch(`${agent}/v1/targets?job=selfscrape`)).status, 401);
    const bad = await fetch(`${agent}/v1/targets`, { headers: { authorization: `Bearer ${(await import('../controller/helpers.ts')).TOKEN}` } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /job=NAME/);
  });
});
