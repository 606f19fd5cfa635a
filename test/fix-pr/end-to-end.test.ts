// End to end: a real exporter emits a UUID label, a real Prometheus scrapes it under a real agent that
// a real controller (following a real git repository) drives; the agent flags the label, the controller
// gathers the flag; `promshard fix KEY --open-pr --controller …` (the real CLI) pushes the fix branch
// and opens a PR on the git host test server (test/support/githost-server.ts, GitHub /api/v3, serving
// the repository's branches). The branch passes the real validate, the team's rule and comments are
// kept; merged into main, it rolls out and the flag clears. The dashboard shows the same command.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startPrometheus } from '../support/prometheus.ts';
import { startExporter, line, family, fakeUuid, healthyServiceBody } from '../support/exporters.ts';
import { startGitHostServer } from '../support/githost-server.ts';
import { startAgent } from '../../shard-agent/start-agent.ts';
import { GitRepo, launchController, newControllerPort, READ_TOKEN, TOKEN, api, waitFor } from '../controller/helpers.ts';
import { fixBranch, flagKey } from '../../core/cardinality-fix/flag-key.ts';
import { gitBranch, promshard, serveBranchesFromGit, showFile, validateBranch } from './helpers.ts';
import { CHECKOUT_1S_SHARDS_YAML } from '../support/repo-fixture.ts';

const team = (offender: string, healthy: string) => `# Owned by payments; ask in #payments-oncall.
team: payments
shard: checkout
jobs:
  - name: checkout-api
    targets: ["${offender}"]   # one replica for now
    metric_relabel_configs:
      # our own rule: Go GC details are noise
      - source_labels: [__name__]
        regex: go_gc_.*
        action: drop
  - name: web
    targets: ["${healthy}"]
`;

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
}, { timeout: 60_000 });

test('a live flag becomes a PR whose branch validates, keeps the team rule, and clears the flag once merged', { timeout: 180_000 }, async () => {
  const offender = await startExporter((n) =>
    family('checkout_requests_total', 'counter', Array.from({ length: 1500 }, (_, i) => line('checkout_requests_total', { request_id: fakeUuid(i + n * 7) }, 1))),
  );
  const healthy = await startExporter(() => healthyServiceBody());
  cleanups.push(() => offender.close(), () => healthy.close());
  const FILE = 'teams/payments/checkout.yaml';
  const TEAM = team(offender.target, healthy.target);
  const repo = new GitRepo();
  cleanups.push(() => repo.destroy());
  repo.commit({ 'shards.yaml': CHECKOUT_1S_SHARDS_YAML, [FILE]: TEAM });

  const dir = mkdtempSync(join(tmpdir(), 'promshard-fix-e2e-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const prom = await startPrometheus();
  cleanups.push(() => prom.destroy());
  const controller = await launchController(repo, join(dir, 'controller'), await newControllerPort(), { usageRefreshMs: 1000 });
  cleanups.push(() => controller.close());
  const agent = await startAgent({
    shard: 'checkout', replica: 'r1', prometheusUrl: prom.url, configFile: prom.configFile, stateDir: join(dir, 'agent'), token: TOKEN,
    controllerUrl: controller.url, heartbeatMs: 300, pullIntervalMs: 1000, cardinality: { intervalMs: 3_600_000, initialDelayMs: 3_600_000 }, defaultMetrics: false, logWrite: () => {},
  });
  cleanups.push(() => agent.close());
  const git = await startGitHostServer();
  cleanups.push(() => git.close());
  git.addToken('gh-e2e-write-token-19c', 'write');
  const hosted = git.addRepo('github', 'acme/scrape-configs');
  serveBranchesFromGit(hosted, repo.dir);

  await waitFor('the agent to apply the first revision', () => agent.status().applied?.verified, 20_000);
  await waitFor('the analyzer to flag request_id', async () => {
    await agent.analyzer!.runCycle();
    return agent.analyzer!.flags().some((f) => f.label === 'request_id');
  }, 30_000, 1000);
  let served: { id: string; key: string; label: string }[] = [];
  await waitFor('the controller to gather the flag', async () => {
    await controller.reconcileNow();
    served = (await api(controller.url, '/v1/flags?team=payments', READ_TOKEN)).body.flags;
    return served.some((f) => f.label === 'request_id');
  }, 30_000, 500);
  const flag = served.find((f) => f.label === 'request_id')!;
  assert.equal(flag.key, flagKey(flag.id), '/v1/flags carries the key');
  const page = await (await fetch(`${controller.url}/teams/payments`, { headers: { authorization: `Bearer ${READ_TOKEN}` } })).text();
  // Text as the copy button takes it (textContent: the <bdi> isolation around values drops out).
  assert.ok(page.replace(/<[^>]+>/g, '').includes(`promshard fix ${flag.key} --open-pr`), 'the dashboard shows the command');

  const tokenFile = join(dir, 'read-token');
  writeFileSync(tokenFile, READ_TOKEN);
  const ghTokenFile = join(dir, 'gh-token');
  writeFileSync(ghTokenFile, 'gh-e2e-write-token-19c');
  const noToken = await promshard(['fix', flag.key, '--controller', controller.url, '--repo', repo.dir], { PROMSHARD_TOKEN: '' });
  assert.equal(noToken.status, 2, noToken.stdout + noToken.stderr);
  assert.match(noToken.stderr, /GET \/v1\/flags answered HTTP 401 \(give its read token with --token-file\)/);
  const r = await promshard(['fix', flag.key, '--open-pr', '--controller', controller.url, '--token-file', tokenFile, '--repo', repo.dir, '--githost', 'github', '--githost-repo', 'acme/scrape-configs', '--githost-api', git.githubApi, '--githost-token-file', ghTokenFile]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const branch = fixBranch(flag.id);
  assert.match(r.stdout, /opened pull request .*\/acme\/scrape-configs\/pull\/101/);
  assert.equal(hosted.changeRequests.length, 1);
  assert.match(hosted.changeRequests[0]!.body, /\*\*Estimated series saved: 1,\d{3}\*\*/);
  assert.match(hosted.changeRequests[0]!.body, /\*\*Complete\*\*/);

  // The branch passes the real validate; the team's rule and comments stay, the new rule follows.
  const v = await validateBranch(repo.dir, branch);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const fixed = showFile(repo.dir, branch, FILE);
  for (const kept of ['# Owned by payments; ask in #payments-oncall.', '# one replica for now', '# our own rule: Go GC details are noise']) assert.ok(fixed.includes(kept), kept);
  const rules = (parse(fixed) as { jobs: { name: string; metric_relabel_configs: unknown[] }[] }).jobs[0]!.metric_relabel_configs;
  assert.deepEqual(rules, [{ source_labels: ['__name__'], regex: 'go_gc_.*', action: 'drop' }, { regex: 'request_id', action: 'labeldrop' }]);

  // Idempotent against the live controller too.
  const again = await promshard(['fix', flag.id, '--open-pr', '--controller', controller.url, '--token-file', tokenFile, '--repo', repo.dir, '--githost', 'github', '--githost-repo', 'acme/scrape-configs', '--githost-api', git.githubApi, '--githost-token-file', ghTokenFile]);
  assert.equal(again.status, 0, again.stdout + again.stderr);
  assert.equal(hosted.changeRequests.length, 1);

  // Merge the PR: the controller rolls it out and the flag clears.
  assert.ok(gitBranch(repo.dir, branch));
  repo.git('merge', '-q', '--ff-only', branch);
  await waitFor('the fix to roll out and the flag to clear', async () => {
    await controller.reconcileNow();
    await agent.analyzer!.runCycle();
    return !agent.analyzer!.flags().some((f) => f.label === 'request_id');
  }, 60_000, 1000);
  await waitFor('the controller to drop the flag', async () => {
    await controller.reconcileNow();
    return !(await api(controller.url, '/v1/flags?team=payments', READ_TOKEN)).body.flags.some((f: { label: string }) => f.label === 'request_id');
  }, 30_000, 500);
});
