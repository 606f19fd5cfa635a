// Commit → first successful scrape of a new target: the latency an author feels after merging
// "add a job" (issue 13). On the demo's intervals (the demo's jobs scrape every 5 s, timeout 4 s).
//
// promshard: git commit → signed webhook → controller compiles and pushes → both replicas' agents
// write and reload a real Prometheus 2.42 → Prometheus scrapes the new job. Timed from the webhook
// (the controller's "commit received") to the new target's first successful scrape as Prometheus
// reports it (`/api/v1/targets`: health up, its lastScrape time). Each commit adds a new job at a
// random phase (0–5 s after the previous one settled).
//
// Side by side, in the same run (concurrently, in their own Prometheus processes): the same target
// added through Prometheus's `http_sd_configs` (the target list is served here) at a 5 s refresh and
// at the default 60 s refresh, timed from the moment the served list changes to the same endpoint
// (health up, lastScrape). The 60 s case takes fewer samples (each can take over a minute); its
// changes are spread at random phases over two refresh cycles.
//
// Run alone: node --import tsx bench/commit-to-first-scrape.ts
//   (BENCH_FS_COMMITS=10 BENCH_FS_SD5_SAMPLES=10 BENCH_FS_SD60_SAMPLES=5)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { signWebhookBody } from '../core/http/auth.ts';
import { sleep } from '../core/time/backoff.ts';
import { startController } from '../central-controller/start-controller.ts';
import { startAgent, type RunningAgent } from '../shard-agent/start-agent.ts';
import { startExporter } from '../test/support/exporters.ts';
import { freePort, startPrometheus, type RunningPrometheus } from '../test/support/prometheus.ts';
import { benchRepo } from './support/bench-repo.ts';
import { percentile } from './support/percentile.ts';

const TOKEN = 'bench-token-first-scrape-3a9c';
const SECRET = 'bench-webhook-secret-first-scrape-51e0';
/** The demo's job intervals (demo/demo-repository.ts). */
const INTERVAL = '5s';
const TIMEOUT = '4s';

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface ActiveTarget {
  scrapePool: string;
  labels: Record<string, string>;
  health: string;
  lastScrape: string;
}

/** Prometheus's first successful scrape of the matching target (ms since the epoch), polled every 50 ms. */
async function firstScrape(promUrl: string, match: (t: ActiveTarget) => boolean, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const body = (await (await fetch(`${promUrl}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: ActiveTarget[] } };
    const t = body.data.activeTargets.find(match);
    // Polled far more often than the 5 s scrape interval: the first time it is up, lastScrape is its first scrape.
    if (t?.health === 'up') return Date.parse(t.lastScrape);
    if (Date.now() > deadline) throw new Error(`no successful scrape within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** http_sd_configs: changes of the served target list at random phases, each timed to its first scrape. */
async function measureHttpSd(refreshSeconds: number, samples: number, spreadMs: number, exporter: string, log: (s: string) => void): Promise<number[]> {
  const groups: { targets: string[]; labels: Record<string, string> }[] = [{ targets: [exporter], labels: { sample: 'seed' } }];
  const sd: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(groups));
  });
  await new Promise<void>((r) => sd.listen(0, '127.0.0.1', () => r()));
  const sdPort = (sd.address() as { port: number }).port;
  const config = `global:\n  scrape_interval: ${INTERVAL}\nscrape_configs:\n  - job_name: sd\n    scrape_interval: ${INTERVAL}\n    scrape_timeout: ${TIMEOUT}\n    http_sd_configs:\n      - url: http://127.0.0.1:${sdPort}/sd\n        refresh_interval: ${refreshSeconds}s\n`;
  const prom = await startPrometheus({ config });
  try {
    await firstScrape(prom.url, (t) => t.labels.sample === 'seed', 90_000);
    // Every sample is a new label set on the same exporter: a new target for Prometheus.
    const starts = Array.from({ length: samples }, () => Math.random() * spreadMs).sort((a, b) => a - b);
    const t0 = Date.now();
    return await Promise.all(
      starts.map(async (at, i) => {
        await sleep(at);
        const changedAt = Date.now();
        groups.push({ targets: [exporter], labels: { sample: String(i) } });
        const scraped = await firstScrape(prom.url, (t) => t.labels.sample === String(i), refreshSeconds * 1000 * 3 + 30_000);
        const ms = scraped - changedAt;
        log(`  http_sd ${refreshSeconds}s sample ${i + 1}/${samples} (changed at +${round((changedAt - t0) / 1000, 1)} s): first scrape after ${round(ms / 1000)} s`);
        return ms;
      }),
    );
  } finally {
    await prom.destroy();
    sd.close();
  }
}

export async function runCommitToFirstScrapeBench(opts: { commits?: number; sd5Samples?: number; sd60Samples?: number; log?: (s: string) => void } = {}): Promise<Record<string, number | string>> {
  const commits = opts.commits ?? Number(process.env.BENCH_FS_COMMITS ?? 10);
  const sd5Samples = opts.sd5Samples ?? Number(process.env.BENCH_FS_SD5_SAMPLES ?? 10);
  const sd60Samples = opts.sd60Samples ?? Number(process.env.BENCH_FS_SD60_SAMPLES ?? 5);
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const root = mkdtempSync(join(tmpdir(), 'promshard-bench-c2fs-'));
  const repoDir = join(root, 'repo');
  const { git, write } = benchRepo(repoDir);
  const exporter = await startExporter(() => '# TYPE bench_up gauge\nbench_up 1\n');
  const jobs: string[] = ['seed'];
  const teamYaml = () => `team: bench\nshard: apps\njobs:\n${jobs.map((j) => `  - name: ${j}\n    targets: ["${exporter.target}"]\n    interval: ${INTERVAL}\n    timeout: ${TIMEOUT}\n`).join('')}`;
  git('init', '-q', '-b', 'main');
  write('shards.yaml', `defaults:\n  interval: 30s\n  timeout: 10s\nshards:\n  - name: apps\n    replicas: 2\n    budget: { max_series: 100000, max_targets: 1000 }\n`);
  write('teams/bench/jobs.yaml', teamYaml());
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');

  const results: Record<string, number | string> = {};
  const port = await freePort();
  const controllerUrl = `http://127.0.0.1:${port}`;
  const fleet: { prometheus: RunningPrometheus; agent: RunningAgent }[] = [];
  const sink = () => undefined;
  let controller: Awaited<ReturnType<typeof startController>> | null = null;

  // The baselines run meanwhile, each in its own Prometheus; they wait on Prometheus's timers, not the CPU.
  log(`baselines: http_sd_configs at 5 s (${sd5Samples} samples) and 60 s refresh (${sd60Samples} samples), concurrently`);
  const sd5 = measureHttpSd(5, sd5Samples, 60_000, exporter.target, log);
  const sd60 = measureHttpSd(60, sd60Samples, 120_000, exporter.target, log);
  sd5.catch(() => undefined);
  sd60.catch(() => undefined);
  try {
    for (const replica of ['a', 'b']) {
      const dir = join(root, replica);
      mkdirSync(dir);
      const configFile = join(dir, 'prometheus.yml');
      writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
      const prometheus = await startPrometheus({ configFile, dir });
      const agent = await startAgent({ shard: 'apps', replica, prometheusUrl: prometheus.url, configFile, stateDir: join(dir, 'state'), token: TOKEN, controllerUrl, heartbeatMs: 2000, pullIntervalMs: 60_000, defaultMetrics: false, logWrite: sink });
      fleet.push({ prometheus, agent });
    }
    controller = await startController({ repo: repoDir, stateDir: join(root, 'controller'), listen: `127.0.0.1:${port}`, token: TOKEN, webhookSecret: SECRET, pollMs: 600_000, reconcileMs: 5000, heartbeatTimeoutMs: 10_000, defaultMetrics: false, logWrite: sink, targetHealthPollMs: 250 });
    const head = git('rev-parse', 'HEAD').trim();
    const deadline = Date.now() + 60_000;
    while (!fleet.every((f) => f.agent.status().applied?.revision === head && f.agent.status().applied?.verified)) {
      if (Date.now() > deadline) throw new Error('the first revision did not reach both replicas');
      await sleep(20);
    }
    log('fleet ready: 1 shard × 2 replicas, real Prometheus 2.42 + agents + controller on loopback');

    const latencies: number[] = [];
    const applied: number[] = [];
    for (let i = 0; i < commits; i++) {
      await sleep(Math.random() * 5000); // a random phase against Prometheus's 5 s tickers
      const job = `svc-${i}`;
      jobs.push(job);
      write('teams/bench/jobs.yaml', teamYaml());
      git('commit', '-q', '-am', `add job ${job}`);
      const sha = git('rev-parse', 'HEAD').trim();
      const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
      const t0 = Date.now();
      const res = await fetch(`${controllerUrl}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, SECRET) }, body });
      await res.arrayBuffer();
      // Either replica's first scrape counts: both scrape it, the author's target is up at the first.
      const scraped = await Promise.any(fleet.map((f) => firstScrape(f.prometheus.url, (t) => t.scrapePool === job, 60_000)));
      latencies.push(scraped - t0);
      const rec = controller.state.revisions.get(sha);
      const provenAt = Math.min(...Object.values(rec?.shards.apps?.replicas ?? {}).map((r) => (r.appliedAt ? Date.parse(r.appliedAt) : Infinity)));
      if (Number.isFinite(provenAt)) applied.push(provenAt - t0);
      log(`  commit ${i + 1}/${commits} (${job}): first replica proven after ${Number.isFinite(provenAt) ? `${provenAt - t0} ms` : '?'}, first successful scrape after ${round((scraped - t0) / 1000)} s`);
    }
    // The controller's own record of the same thing (the histogram the dashboard's users see).
    await sleep(1500);
    const m = await (await fetch(`${controllerUrl}/metrics`)).text();
    const count = Number(/promshard_controller_commit_to_first_scrape_seconds_count (\S+)/.exec(m)?.[1] ?? 0);
    const sum = Number(/promshard_controller_commit_to_first_scrape_seconds_sum (\S+)/.exec(m)?.[1] ?? 0);
    latencies.sort((a, b) => a - b);
    applied.sort((a, b) => a - b);
    results.fleet = '1 shard × 2 replicas, real Prometheus 2.42 + real agents + controller on loopback; jobs scrape every 5 s (the demo\'s interval)';
    results.commits = commits;
    results.promshard_commit_to_first_scrape_p50_s = round(percentile(latencies, 50) / 1000);
    results.promshard_commit_to_first_scrape_p99_s = round(percentile(latencies, 99) / 1000);
    results.promshard_commit_to_first_scrape_max_s = round(latencies[latencies.length - 1] / 1000);
    results.promshard_commit_to_applied_p50_ms = round(percentile(applied, 50), 0);
    results.controller_histogram_count = count;
    results.controller_histogram_mean_s = count > 0 ? round(sum / count) : 'n/a';
  } finally {
    await controller?.close();
    await Promise.all(fleet.map(async (f) => {
      await f.agent.close();
      await f.prometheus.destroy();
    }));
  }
  const s5 = (await sd5).sort((a, b) => a - b);
  const s60 = (await sd60).sort((a, b) => a - b);
  exporter.close();
  results.http_sd_5s_samples = s5.length;
  results.http_sd_5s_p50_s = round(percentile(s5, 50) / 1000);
  results.http_sd_5s_p99_s = round(percentile(s5, 99) / 1000);
  results.http_sd_60s_samples = s60.length;
  results.http_sd_60s_p50_s = round(percentile(s60, 50) / 1000);
  results.http_sd_60s_p99_s = round(percentile(s60, 99) / 1000);
  results.note =
    'Same endpoint on every side: the new target\'s first successful scrape (Prometheus /api/v1/targets health up, lastScrape), timed from the webhook (promshard) or from the change of the served list (http_sd). Prometheus 2.42 applies a new target set on its discovery and scrape managers\' 5 s ticks and then waits a hash-based offset within the 5 s interval: seconds that any way of delivering targets pays. With 10 or fewer samples p99 is the maximum; the 60 s http_sd case has the fewest.';
  rmSync(root, { recursive: true, force: true });
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runCommitToFirstScrapeBench();
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
}
