// Generations (issue 11, item 4): rollouts are ordered by a generation the controller issues, which only
// ever increases and does not depend on git history. A force push that shortens the branch (an
// emergency revert) rolls out like any commit, and a controller restarted with an empty state
// directory recovers the generation from the agents' reports before it pushes anything.
// Real git (a bare repository the controller follows, force-pushed to), real agents and Prometheus.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { prometheusInstalled } from '../support/prometheus.ts';
import { api, GitRepo, launchController, newControllerPort, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from './helpers.ts';

const routers = (targets: string[]) => ({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: targets }) });

describe('generation: a force-pushed revert and a controller restarted with an empty state directory', { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let bare: string;
  let work: GitRepo;
  let port: number;
  let controller: RunningController;
  const stateDirs: string[] = [];
  let replicas: Replica[] = [];
  let first: string;

  const push = (...args: string[]) => work.git('push', '-q', ...args, 'origin', 'main');
  const runsEverywhere = (rev: string) => replicas.every((r) => r.agent.status().applied?.revision === rev && r.agent.status().applied?.verified);
  const refusals = () => replicas.flatMap((r) => r.agent.status().recent.filter((x) => x.result === 'rejected').map((x) => `${r.replica}: ${x.error}`));
  const launch = async () => {
    const dir = tempDir('promshard-ctl-generation-');
    stateDirs.push(dir);
    controller = await launchController({ dir: bare } as GitRepo, dir, port, { pollMs: 60_000 });
  };

  before(async () => {
    bare = mkdtempSync(join(tmpdir(), 'promshard-bare-'));
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    work = new GitRepo();
    work.git('remote', 'add', 'origin', bare);
    first = work.commit({ 'shards.yaml': SHARDS_YAML, ...routers(['127.0.0.1:9101']) });
    push();
    port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    replicas = [await startReplica('networking', 'a', url), await startReplica('networking', 'b', url)];
    await launch();
    await waitFor('both replicas run the first commit', () => runsEverywhere(first), 20_000);
  });
  after(async () => {
    await controller?.close();
    for (const r of replicas) await stopReplica(r);
    work?.destroy();
    rmSync(bare, { recursive: true, force: true });
    for (const d of stateDirs) rmSync(d, { recursive: true, force: true });
  });

  it('a force push that shortens the branch (an emergency revert) rolls out like any commit', async () => {
    for (const port of [9102, 9103, 9104]) {
      const sha = work.commit(routers([`127.0.0.1:${port}`]));
      push();
      assert.equal(await webhook(controller.url), 202);
      await waitFor(`both replicas run ${sha.slice(0, 8)}`, () => runsEverywhere(sha), 20_000);
    }
    const before = replicas[0].agent.status().applied!.generation;

    // The emergency revert: back to the first commit, then the fixed file, force-pushed. The branch now
    // has 2 commits where it had 4; `git rev-list --count` would go from 4 to 2.
    work.git('reset', '-q', '--hard', first);
    const revert = work.commit(routers(['127.0.0.1:9199']), 'emergency revert');
    push('--force');
    assert.equal(work.git('rev-list', '--count', 'HEAD').trim(), '2');
    assert.equal(await webhook(controller.url), 202);
    await waitFor('both replicas run the revert', () => runsEverywhere(revert), 20_000);
    for (const r of replicas) assert.match(readFileSync(r.configFile, 'utf8'), /9199/);
    assert.ok(replicas[0].agent.status().applied!.generation > before, 'the revert got a higher generation');
    assert.deepEqual(refusals(), [], 'no agent refused anything');
    const repo = (await api(controller.url, '/v1/repository')).body;
    assert.equal(repo.lastGood.sha, revert);
    assert.equal(repo.lastGood.generation, replicas[0].agent.status().applied!.generation);
    const events = (await api(controller.url, '/v1/events?limit=100')).body.events;
    assert.ok(events.some((e: any) => e.type === 'repository-valid' && e.revision === revert && /rewritten/.test(e.message)), 'the timeline says the branch was rewritten');
  });

  it('a controller restarted with an empty state directory recovers the generation from the agents before it pushes', async () => {
    const running = Math.max(...replicas.map((r) => r.agent.status().applied!.generation));
    const appliesBefore = replicas.map((r) => r.agent.status().recent.length);
    await controller.close();
    await launch(); // same port, new empty state directory: it knows no agent and no generation (agents report during its start-up)
    await waitFor('the agents report to the new controller', () => controller.state.agents.all().filter((a) => a.status).length === 2, 15_000);
    await controller.reconcileNow();
    const shard = (await api(controller.url, '/v1/shards/networking')).body;
    assert.ok(shard.desired.generation > running, `desired generation ${shard.desired.generation} is above what the agents run (${running})`);
    assert.equal(shard.inSync, true, 'the head is what the agents run: nothing to push');
    assert.deepEqual(replicas.map((r) => r.agent.status().recent.length), appliesBefore, 'nothing was pushed');

    // Another rewrite, then a commit: both roll out, nothing is refused.
    work.git('reset', '-q', '--hard', first);
    const again = work.commit(routers(['127.0.0.1:9198']), 'second revert');
    push('--force');
    assert.equal(await webhook(controller.url), 202);
    await waitFor('both replicas run the second revert', () => runsEverywhere(again), 20_000);
    const next = work.commit(routers(['127.0.0.1:9198', '127.0.0.1:9197']));
    push();
    assert.equal(await webhook(controller.url), 202);
    await waitFor('both replicas run the next commit', () => runsEverywhere(next), 20_000);
    assert.ok(replicas[0].agent.status().applied!.generation > running + 1);
    assert.deepEqual(refusals(), [], 'no agent refused anything');
    assert.ok(JSON.parse(readFileSync(join(stateDirs.at(-1)!, 'generation.json'), 'utf8')).issued >= replicas[0].agent.status().applied!.generation, 'the generation is kept in the state directory');
  });
});
