// `promshard plan --controller`: a real controller gathers flags and per-job series from a real agent
// (whose analyzer watches a real Prometheus scraping a real exporter); plan then warns that the pull
// request touches a flagged job and fails because the added targets would exceed max_series.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { startExporter, line, family, fakeUuid, type Exporter } from '../support/exporters.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { GitRepo, launchController, newControllerPort, TOKEN, api, waitFor } from '../controller/helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));
const SHARDS = `defaults:
  interval: 1s
  timeout: 1s
shards:
  - name: checkout
    replicas: 1
    budget: { max_series: 2500, max_targets: 10 }
`;
const team = (targets: string[]) => `team: payments\nshard: checkout\njobs:\n  - name: checkout-api\n    targets: [${targets.map((t) => `"${t}"`).join(', ')}]\n`;

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const [i, c] of cleanups.reverse().entries()) {
    const t = Date.now();
    if (process.env.PLAN_LIVE_TRACE) appendFileSync(process.env.PLAN_LIVE_TRACE, `cleanup ${i} starts\n`);
    await c();
    if (process.env.PLAN_LIVE_TRACE) appendFileSync(process.env.PLAN_LIVE_TRACE, `cleanup ${i} took ${Date.now() - t} ms\n`);
  }
}, { timeout: 60_000 });

test('plan warns on a flagged job and fails when added targets would exceed max_series', { timeout: 150_000 }, async () => {
  const step = (m: string) => { process.stderr.write(`[plan-live] ${new Date().toISOString()} ${m}\n`); if (process.env.PLAN_LIVE_TRACE) appendFileSync(process.env.PLAN_LIVE_TRACE, `${new Date().toISOString()} ${m}\n`); };
  const body = (n: number) => family('checkout_requests_total', 'counter', Array.from({ length: 1500 }, (_, i) => line('checkout_requests_total', { request_id: fakeUuid(i + n) }, 1)));
  const exporters: Exporter[] = [await startExporter(body), await startExporter(body)];
  cleanups.push(async () => {
    for (const e of exporters) await e.close();
  });
  const repo = new GitRepo();
  cleanups.push(() => repo.destroy());
  repo.commit({ 'shards.yaml': SHARDS, 'teams/payments/api.yaml': team([exporters[0].target]) });

  const prom: RunningPrometheus = await startPrometheus();
  cleanups.push(() => prom.destroy());
  const dir = mkdtempSync(join(tmpdir(), 'promshard-plan-live-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const port = await newControllerPort();
  const controller: RunningController = await launchController(repo, join(dir, 'controller'), port, { usageRefreshMs: 1000 });
  cleanups.push(() => controller.close());
  const agent: RunningAgent = await startAgent({
    shard: 'checkout', replica: 'r1', prometheusUrl: prom.url, configFile: prom.configFile, stateDir: join(dir, 'agent'), token: TOKEN,
    controllerUrl: controller.url, heartbeatMs: 300, pullIntervalMs: 1000, cardinality: { intervalMs: 3_600_000, initialDelayMs: 3_600_000 }, defaultMetrics: false, logWrite: () => {},
  });
  cleanups.push(() => agent.close());

  step('started');
  await waitFor('the agent to apply the first revision', () => agent.status().applied?.verified, 20_000);
  step('applied');
  await waitFor('the analyzer to flag request_id', async () => {
    await agent.analyzer!.runCycle();
    return agent.analyzer!.flags().some((f) => f.label === 'request_id');
  }, 30_000, 1000);
  step('flagged');
  await waitFor('the controller to gather flags and usage', async () => {
    await controller.reconcileNow();
    const flags = (await api(controller.url, '/v1/flags?team=payments')).body.flags;
    const series = (await api(controller.url, '/v1/series')).body;
    return flags.length > 0 && series.jobs.some((j: { job: string; series: number }) => j.job === 'checkout-api' && j.series >= 1500);
  }, 30_000, 500);

  step('gathered');
  repo.commit({ 'teams/payments/api.yaml': team([exporters[0].target, exporters[1].target]) }, 'add a second checkout target');
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, TOKEN);
  // Asynchronously: the controller runs in this process and must keep answering while plan asks it.
  const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
    execFile('node', [BIN, 'plan', '--repo', repo.dir, '--base', 'HEAD~1', '--controller', controller.url, '--token-file', tokenFile], (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 2) : 0, stdout, stderr }),
    ),
  );
  step('planned');
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /warning: job checkout-api is flagged for cardinality: checkout_requests_total\{request_id\}/);
  assert.match(r.stdout, /error: added targets bring about 1\d{3} series \(live per-target average\): 1\d{3} → \d{4} of max_series 2500 — over budget/);
});
