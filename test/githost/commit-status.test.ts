// Commit statuses from the controller, end to end: real git, a real controller, real agents beside
// real Prometheus servers, and the loopback GitHub/GitLab test server (test/support/githost-server.ts).
// One context per shard: pending when the rollout starts, success with the replicas' proof and each
// new target's health, failure for an invalid commit (its first findings) and for a rollout refused by
// Prometheus (its own error text). A git host answering 500 or 429 never delays a rollout, and the
// statuses it cost are counted as dropped.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { CommitStatusReporter } from '../../central-controller/commit-status/commit-status-reporter.ts';
import { createGitHost } from '../../core/githost/index.ts';
import { createLogger } from '../../core/log/logger.ts';
import { startExporter, type Exporter } from '../support/exporters.ts';
import { startGitHostServer, type GitHostServer, type StoredStatus } from '../support/githost-server.ts';
import { freePort, PROMETHEUS_BIN, waitForReady } from '../support/prometheus.ts';
import { allOnRevision, TOKEN, GitRepo, launchController, metricValue, newControllerPort, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from '../controller/helpers.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

const STATUS_TOKEN = 'ghp_status_writer_7f3a9c21';
const PR_TOKEN = 'ghs_pull_request_token_41b2';
const EXTERNAL = 'https://promshard.example.org';
// One shard, short intervals: a new target's first scrape comes within about a second.
const SHARDS = `defaults:
  interval: 1s
  timeout: 1s
  limits: { sample_limit: 10000, label_limit: 30 }
  max_limits: { sample_limit: 50000, label_limit: 60 }
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { shard: networking }
`;

describe('commit statuses from the controller (real git, agents, Prometheus; git host test server)', () => {
  let srv: GitHostServer;
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let net: Replica[];
  let exporter: Exporter;
  let refusing: ChildProcess | null = null;
  let gitlabReporter: CommitStatusReporter | null = null;
  const logs: string[] = [];

  const statuses = (sha: string, context = 'promshard/networking', host: 'github' | 'gitlab' = 'github'): StoredStatus[] =>
    srv.repo(host, host === 'github' ? 'acme/scrape' : 'obs/scrape').statuses.filter((s) => s.sha === sha && s.context === context);
  const last = (sha: string, context?: string, host?: 'github' | 'gitlab') => statuses(sha, context, host).at(-1);

  before(async () => {
    srv = await startGitHostServer();
    srv.addToken(STATUS_TOKEN, 'write');
    srv.addRepo('github', 'acme/scrape');
    srv.addRepo('gitlab', 'obs/scrape');
    exporter = await startExporter(() => 'up_probe 1\n');
    repo = new GitRepo();
    const first = repo.commit({ 'shards.yaml': SHARDS, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: [exporter.target] }) });
    stateDir = tempDir('promshard-status-state-');
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    // A short cardinality cycle, so that the live series the plan asks for are known within seconds.
    const agentOpts = { cardinality: { intervalMs: 2000, initialDelayMs: 500 } };
    net = await Promise.all([startReplica('networking', 'a', url, logs, agentOpts), startReplica('networking', 'b', url, logs, agentOpts)]);
    const host = createGitHost({ kind: 'github', repo: 'acme/scrape', apiBase: srv.githubApi, token: STATUS_TOKEN, timeoutMs: 2000, maxAttempts: 1, maxWaitMs: 0 });
    controller = await launchController(repo, stateDir, port, {
      pollMs: 60_000,
      targetHealthPollMs: 300,
      targetHealthBoundMs: 6000,
      usageRefreshMs: 1000,
      commitStatus: { host, externalUrl: EXTERNAL, queue: { backoffBaseMs: 200, backoffMaxMs: 1000, maxAttempts: 3 } },
    }, logs);
    await waitFor('initial rollout', () => allOnRevision(net, first), 20_000);
    await waitFor('first revision reported', () => last(first)?.state === 'success', 10_000);
  });

  after(async () => {
    refusing?.kill('SIGKILL');
    gitlabReporter?.close();
    await controller?.close();
    await Promise.all((net ?? []).map(stopReplica));
    await exporter?.close();
    await srv?.close();
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('pending when the rollout starts, then success with the replicas proven and each new target up or down with its error', async () => {
    // The same revisions reported on GitLab as well, by a second reporter on the same records.
    const gitlab = createGitHost({ kind: 'gitlab', repo: 'obs/scrape', apiBase: srv.gitlabApi, token: STATUS_TOKEN, timeoutMs: 2000, maxAttempts: 1, maxWaitMs: 0 });
    gitlabReporter = new CommitStatusReporter({ host: gitlab, externalUrl: EXTERNAL, revisions: controller.state.revisions, leadership: controller.runtime.leadership, registry: new Registry(), log: createLogger({ component: 'test', write: () => undefined }), queue: { backoffBaseMs: 200 } });

    const closedPort = await freePort();
    const sha = repo.commit({ 'teams/netops/web.yaml': teamFile('netops', 'networking', { web: [exporter.target], dead: [`127.0.0.1:${closedPort}`] }) });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('success reported on GitHub', () => last(sha)?.state === 'success', 30_000);
    const seen = statuses(sha);
    assert.equal(seen[0].state, 'pending', `first status: ${JSON.stringify(seen[0])}`);
    assert.ok(seen.every((x) => x.state === 'pending' || x === seen.at(-1)), 'GitHub has no running state: pending until the end');
    const done = seen.at(-1)!;
    assert.match(done.description, /^2\/2 replicas proven in \d+(\.\d)? s; 1\/2 new targets up; dead 127\.0\.0\.1:\d+ down: .*refused/);
    assert.ok(done.description.length <= 140);
    assert.equal(done.target_url, `${EXTERNAL}/revisions/${sha}`);
    assert.ok(seen.filter((s) => s.state === 'success').length === 1, 'success said once');

    await waitFor('success reported on GitLab', () => last(sha, undefined, 'gitlab')?.state === 'success', 10_000);
    // GitLab has a state for "under way": pending (waiting) → running (rolling out) → success.
    const gl = statuses(sha, undefined, 'gitlab').map((x) => x.state);
    assert.match(gl[0], /^(pending|running)$/);
    assert.equal(gl.at(-1), 'success');
    assert.ok(gl.every((x) => ['pending', 'running', 'success'].includes(x)), gl.join());
  });

  it('plan --comment github --controller puts the live series estimate in the pull-request comment', async () => {
    srv.addToken(PR_TOKEN, 'write');
    await waitFor('live series of routers', async () => {
      const r = await fetch(`${controller.url}/v1/series`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const body = (await r.json()) as { jobs: { job: string; series: number; targets: number }[] };
      return body.jobs.some((j) => j.job === 'routers' && j.series > 0 && j.targets > 0);
    }, 20_000);
    const base = repo.git('rev-parse', 'HEAD').trim();
    repo.write({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: [exporter.target, '127.0.0.1:9501', '127.0.0.1:9502'] }) });
    repo.git('checkout', '-q', '-b', 'feature');
    repo.git('commit', '-qam', 'grow routers');
    const tokenFile = join(stateDir, 'plan-token');
    writeFileSync(tokenFile, TOKEN);
    const env = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', GITHUB_TOKEN: PR_TOKEN, GITHUB_REPOSITORY: 'acme/scrape', GITHUB_REF: 'refs/pull/12/merge', GITHUB_API_URL: srv.githubApi };
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn('node', [BIN, 'plan', '--repo', repo.dir, '--base', base, '--comment', 'github', '--controller', controller.url, '--token-file', tokenFile], { env });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.stdout.resume();
      child.on('close', (code) => resolve({ code, err }));
    });
    repo.git('checkout', '-q', 'main');
    assert.equal(r.code, 0, r.err);
    const body = srv.repo('github', 'acme/scrape').comments.get(12)![0].body;
    assert.match(body, /#### Live fleet/);
    assert.match(body, /\*\*networking\*\*: added targets bring about \d+ series \(live per-target average\)/);
  });

  it('an invalid commit is reported as failure (GitHub) / failed (GitLab) with its first findings', async () => {
    const sha = repo.commit({ 'teams/netops/broken.yaml': 'team: netops\nshard: networking\njobs:\n  - name: broken\n    targets: ["no port here"]\n' });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('invalid commit reported', () => last(sha, 'promshard')?.state === 'failure', 15_000);
    assert.match(last(sha, 'promshard')!.description, /^invalid commit.*teams\/netops\/broken\.yaml:\d+:\d+ /);
    await waitFor('invalid commit reported on GitLab', () => last(sha, 'promshard', 'gitlab')?.state === 'failed', 10_000);
    repo.commit({ 'teams/netops/broken.yaml': null });
  });

  it('a git host answering 500 or 429 does not delay the rollout; the statuses it cost are counted as dropped', async () => {
    const rollout = async (targets: string[]) => {
      const sha = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: targets }) });
      const t0 = Date.now();
      assert.equal(await webhook(controller.url), 202);
      await waitFor('rolled out', () => allOnRevision(net, sha), 20_000, 10);
      return { sha, ms: Date.now() - t0 };
    };
    const healthy = [await rollout([exporter.target, '127.0.0.1:9301']), await rollout([exporter.target, '127.0.0.1:9302']), await rollout([exporter.target, '127.0.0.1:9307'])];
    gitlabReporter?.close();
    gitlabReporter = null;

    const droppedBefore = await metricValue(controller.url, 'promshard_controller_commit_status_dropped_total', { reason: 'retries' });
    srv.inject({ status: 500, match: /statuses/ }, Infinity);
    const failing500 = [await rollout([exporter.target, '127.0.0.1:9303']), await rollout([exporter.target, '127.0.0.1:9304']), await rollout([exporter.target, '127.0.0.1:9308'])];
    srv.clearInjections();
    srv.inject({ status: 429, headers: { 'retry-after': '0' }, match: /statuses/ }, Infinity);
    const failing429 = [await rollout([exporter.target, '127.0.0.1:9305']), await rollout([exporter.target, '127.0.0.1:9306']), await rollout([exporter.target, '127.0.0.1:9309'])];
    // Medians of three: one rollout on a loaded 2-core machine can take twice as long as the next.
    const avg = (xs: { ms: number }[]) => xs.map((x) => x.ms).sort((a, b) => a - b)[1];
    // Said in the test output: the figures behind "≈".
    console.log(`rollout ms: healthy host ${healthy.map((x) => x.ms)}, host answering 500 ${failing500.map((x) => x.ms)}, 429 ${failing429.map((x) => x.ms)}`);
    assert.ok(avg(failing500) < avg(healthy) * 1.5 + 750, `500: ${avg(failing500)} ms vs ${avg(healthy)} ms`);
    assert.ok(avg(failing429) < avg(healthy) * 1.5 + 750, `429: ${avg(failing429)} ms vs ${avg(healthy)} ms`);

    await waitFor('drops counted', async () => (await metricValue(controller.url, 'promshard_controller_commit_status_dropped_total', { reason: 'retries' })) > droppedBefore, 15_000);
    assert.ok((await metricValue(controller.url, 'promshard_controller_commit_status_failed_total', { code: '500' })) >= 3);
    assert.ok((await metricValue(controller.url, 'promshard_controller_commit_status_failed_total', { code: '429' })) >= 1);
    srv.clearInjections();

    // Once the host answers again, the next revision is reported as usual.
    const back = await rollout([exporter.target]);
    await waitFor('reported after the outage', () => last(back.sha)?.state === 'success', 15_000);
    assert.ok((await metricValue(controller.url, 'promshard_controller_commit_status_sent_total', { state: 'success' })) >= 2);
  });

  it('a rollout refused by Prometheus is reported as failure with its error text', async () => {
    // Replica a's Prometheus without --web.enable-lifecycle: its reload answers 403 and the agent rolls back.
    const a = net[0];
    await a.prometheus.stop();
    refusing = spawn(PROMETHEUS_BIN, [`--config.file=${a.configFile}`, `--web.listen-address=127.0.0.1:${a.prometheus.port}`, `--storage.tsdb.path=${join(a.prometheus.dir, 'data')}`, '--log.level=warn'], { stdio: 'ignore' });
    await waitForReady(a.prometheus.url);
    const sha = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: [exporter.target, '127.0.0.1:9399'] }) });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('refusal reported', () => last(sha)?.state === 'failure', 30_000);
    const s = last(sha)!;
    assert.match(s.description, /^refused by Prometheus: .*(lifecycle|403)/i);
    assert.ok(s.description.length <= 140);
    assert.equal(statuses(sha)[0].state, 'pending');
  });
});
