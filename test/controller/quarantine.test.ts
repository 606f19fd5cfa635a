// Quarantine (#11 item 5): one team's broken file must not hold back everyone else. Real git, a real
// controller, and for the first case real agents beside real Prometheus.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { GitRepo, SHARDS_YAML, TOKEN, api, launchController, metricValue, newControllerPort, startReplica, stopReplica, teamFile, tempDir, waitFor, type Replica } from './helpers.ts';
import { readFileSync } from 'node:fs';

const ROUTERS = 'teams/netops/routers.yaml';
const DISKS = 'teams/storage/disks.yaml';
const BROKEN = 'team: netops\nshard: networking\njobs:\n  - name: routers\n    targtes: ["127.0.0.1:9109"]\n';

describe('quarantine', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it("a file broken in the same commit as another team's change: the other change rolls out, the broken file's shard keeps its old version; the fix clears it", async () => {
    const repo = new GitRepo();
    const first = repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }), [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9201'] }) });
    const stateDir = tempDir('promshard-quarantine-');
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    const replicas: Replica[] = [];
    const c = await launchController(repo, stateDir, port);
    cleanups.push(async () => {
      await c.close();
      for (const r of replicas) await stopReplica(r);
      repo.destroy();
      rmSync(stateDir, { recursive: true, force: true });
    });
    replicas.push(await startReplica('networking', 'a', url), await startReplica('storage', 'a', url));
    const [net, sto] = replicas;
    const running = (r: Replica) => readFileSync(r.configFile, 'utf8');
    await waitFor('first revision applied', () => running(net).includes('127.0.0.1:9101') && running(sto).includes('127.0.0.1:9201'), 20000);
    const netBefore = running(net);

    const broken = repo.commit({ [ROUTERS]: BROKEN, [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9201', '127.0.0.1:9202'] }) }, 'netops typo + storage target');
    await c.syncNow();
    await waitFor("storage's change rolls out despite netops's broken file", () => running(sto).includes('127.0.0.1:9202'), 20000);
    assert.equal(running(net), netBefore, 'networking keeps the old version of the broken file');

    const r = await api(url, '/v1/repository');
    assert.equal(r.body.valid, false, 'the head itself is invalid (CI would refuse it)');
    assert.equal(r.body.held, null);
    assert.equal(r.body.head.sha, broken);
    assert.equal(r.body.lastGood.sha, broken, 'the head, with the file quarantined, is what is served');
    assert.equal(r.body.quarantined.length, 1);
    const q = r.body.quarantined[0];
    assert.equal(q.file, ROUTERS);
    assert.equal(q.team, 'netops');
    assert.equal(q.kept.revision, first, 'served at its version of the last good revision');
    assert.ok(q.findings.some((f: { location: string; ruleId: string }) => f.location.startsWith(`${ROUTERS}:5:`)), JSON.stringify(q.findings));
    assert.equal(await metricValue(url, 'promshard_controller_quarantined_files', { team: 'netops' }), 1);
    assert.equal(await metricValue(url, 'promshard_controller_repository_valid'), 0);
    const fleet = await api(url, '/', TOKEN);
    assert.match(String(fleet.body), /Quarantined files/);
    assert.match(String(fleet.body), /teams\/netops\/routers\.yaml/);
    const teamPage = await api(url, '/teams/netops', TOKEN);
    assert.match(String(teamPage.body), /teams\/netops\/routers\.yaml:5:/);
    const events = await api(url, '/v1/events?limit=50');
    assert.ok(events.body.events.some((e: { type: string }) => e.type === 'file-quarantined'));

    // The fix: the quarantine lifts and the fixed version rolls out.
    repo.commit({ [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9103'] }) }, 'fix');
    await c.syncNow();
    await waitFor('the fixed version rolls out', () => running(net).includes('127.0.0.1:9103'), 20000);
    const fixed = await api(url, '/v1/repository');
    assert.equal(fixed.body.valid, true);
    assert.deepEqual(fixed.body.quarantined, []);
    assert.equal(await metricValue(url, 'promshard_controller_quarantined_files', { team: 'netops' }), 0);
    assert.ok((await api(url, '/v1/events?limit=50')).body.events.some((e: { type: string }) => e.type === 'quarantine-cleared'));
  });

  /** A controller without agents: the desired documents say what would roll out. */
  async function controllerOn(repo: GitRepo) {
    const stateDir = tempDir('promshard-quarantine-');
    const port = await newControllerPort();
    const c = await launchController(repo, stateDir, port, { pollMs: 0 });
    cleanups.push(async () => {
      await c.close();
      rmSync(stateDir, { recursive: true, force: true });
    });
    return { c, url: `http://127.0.0.1:${port}`, doc: (shard: string) => c.state.shards.get(shard)?.desired?.files[0]?.content ?? '' };
  }

  it('a file that never was valid is left out; everything else rolls out', async () => {
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    const { c, url, doc } = await controllerOn(repo);
    repo.commit({ 'teams/storage/new.yaml': 'team: storage\nshard: storage\njobs:\n  - name: new\n    targets: ["no port here"]\n', [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9102'] }) });
    await c.syncNow();
    assert.match(doc('networking'), /127\.0\.0\.1:9102/);
    assert.doesNotMatch(doc('storage'), /job_name: new/);
    const r = await api(url, '/v1/repository');
    assert.equal(r.body.quarantined[0].file, 'teams/storage/new.yaml');
    assert.equal(r.body.quarantined[0].kept, null);
    assert.match(r.body.quarantined[0].served, /left out/);
  });

  it('a broken shards.yaml holds the whole fleet, and says why', async () => {
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    const good = repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    const { c, url, doc } = await controllerOn(repo);
    repo.commit({ 'shards.yaml': SHARDS_YAML.replace('replicas: 2', 'replicas: two'), [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9102'] }) });
    await c.syncNow();
    assert.match(doc('networking'), /127\.0\.0\.1:9101/, "the team's change waits with everything else");
    const r = await api(url, '/v1/repository');
    assert.equal(r.body.lastGood.sha, good);
    assert.match(r.body.held, /shards\.yaml has errors.*whole fleet holds/);
  });

  it("a job name duplicated across files: the file that added it is quarantined, the other team's file is untouched", async () => {
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }), [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9201'] }) });
    const { c, url, doc } = await controllerOn(repo);
    // teams/dba sorts before teams/netops, so duplicate-job reports on netops's unchanged file; the
    // file that changed is dba's, and that is the one quarantined.
    repo.commit({ 'teams/dba/db.yaml': teamFile('dba', 'storage', { routers: ['127.0.0.1:9301'] }), [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9202'] }) });
    await c.syncNow();
    const r = await api(url, '/v1/repository');
    assert.deepEqual(r.body.quarantined.map((q: { file: string }) => q.file), ['teams/dba/db.yaml']);
    assert.equal(r.body.quarantined[0].findings[0].ruleId, 'duplicate-job');
    assert.match(doc('storage'), /127\.0\.0\.1:9202/);
    assert.doesNotMatch(doc('storage'), /127\.0\.0\.1:9301/);
    assert.match(doc('networking'), /job_name: routers/);
  });

  it('an error no quarantine resolves (shards.yaml drops a shard still in use) holds the whole fleet, and says why', async () => {
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    const good = repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }), [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9201'] }) });
    const { c, url } = await controllerOn(repo);
    repo.commit({ 'shards.yaml': SHARDS_YAML.replace(/  - name: storage[\s\S]*$/, ''), [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9102'] }) });
    await c.syncNow();
    const r = await api(url, '/v1/repository');
    assert.equal(r.body.lastGood.sha, good);
    assert.match(r.body.held, /every file involved at its last good version.*teams\/storage\/disks\.yaml/);
  });

  it("after a restart, a job name another team's new file duplicates quarantines that new file, never the other team's unchanged good file", async () => {
    // Found by the fault suite (PROMSHARD_FAULT_SEED=1234797291): after a restart, the unchanged file's
    // last good version is its head version itself; skipping it made the file look like it never had
    // one, so it was left out and the newcomer's duplicate job took its place.
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    const disks = teamFile('storage', 'storage', { disks: ['127.0.0.1:9201'] });
    repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }), [DISKS]: disks });
    repo.commit({ [DISKS]: disks.replace('disks', 'disks\n    targtes: []') }, 'storage broken for a while');
    repo.commit({ [DISKS]: disks, 'teams/netops/dup.yaml': teamFile('netops', 'networking', { disks: ['127.0.0.1:9109'] }) }, 'storage fixed; netops adds a job named like storage\'s');
    const { url, doc } = await controllerOn(repo);
    const r = await api(url, '/v1/repository');
    assert.deepEqual(r.body.quarantined.map((q: { file: string }) => q.file), ['teams/netops/dup.yaml']);
    assert.match(doc('storage'), /job_name: disks/);
    assert.doesNotMatch(doc('networking'), /127\.0\.0\.1:9109/);
  });

  it('after a restart with an empty state directory, the last good version is found in git history', async () => {
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    const first = repo.commit({ 'shards.yaml': SHARDS_YAML, [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }), [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9201'] }) });
    const second = repo.commit({ [ROUTERS]: teamFile('netops', 'networking', { routers: ['127.0.0.1:9104'] }) });
    repo.commit({ [ROUTERS]: BROKEN, [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9202'] }) });
    repo.commit({ [DISKS]: teamFile('storage', 'storage', { disks: ['127.0.0.1:9203'] }) });
    const { url, doc } = await controllerOn(repo);
    assert.match(doc('networking'), /127\.0\.0\.1:9104/, "the broken file's newest good version");
    assert.match(doc('storage'), /127\.0\.0\.1:9203/);
    const r = await api(url, '/v1/repository');
    assert.equal(r.body.quarantined[0].kept.revision, second);
    assert.notEqual(second, first);
  });
});
