// Webhook → first push on the 5,000-file repository (bench/support/generate-repository.ts: 5,000 team
// files, 50,000 targets, 200 shards), for a one-file change, through the real path: git commit →
// signed webhook → controller fetch, incremental compile (core/compiler/compile-cache.ts), render,
// rollout → the first push leaves for the agent of the changed shard (the `rollout-started` event,
// recorded right before the push request is sent). One real agent (shard-000, replica a) beside a
// reload stub standing in for Prometheus: what is measured is the controller, not Prometheus.
//
// Beside it, in the same run: a full compile of the same revision (read from git, parse, every rule,
// model, render of all 200 shards), which is what every webhook cost before the cache.
//
// The controller runs as users run it: compiled by esbuild like dist/ (bin/build-bundle.mjs), not
// through tsx, whose transform (names kept on every closure, and more) made the same code 2–3× slower
// in this process. So this file bundles itself and runs the bundle in a child process, which reports
// its figures as JSON; BENCH_UNDER_TSX=1 measures in this process instead, under tsx.
//
// Run: node --import tsx bench/webhook-to-push.ts   (BENCH_COMMITS=15)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { signWebhookBody } from '../core/http/auth.ts';
import { freePort } from '../core/net/free-port.ts';
import { startController } from '../central-controller/start-controller.ts';
import { startAgent } from '../shard-agent/start-agent.ts';
import { compileRepository } from '../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../ci/rules/index.ts';
import { readRepositoryFromGit } from '../core/repository/repository-source.ts';
import { buildShardDocuments } from '../core/render/shard-documents.ts';
import { BENCH_SHAPE, generateRepository, teamFilePath, teamFileText } from './support/generate-repository.ts';
import { percentile } from './support/percentile.ts';
import { startReloadStub } from './support/reload-stub.ts';
import type { ControllerEvent } from '../central-controller/controller-state.ts';

const TOKEN = 'bench-token-5e2a9c71d0';
const SECRET = 'bench-webhook-secret-3b8f';

const round = (x: number) => Math.round(x * 10) / 10;

const BUNDLED = 'PROMSHARD_BENCH_BUNDLED';

export async function runWebhookToPushBench(): Promise<Record<string, number | string>> {
  if (process.env[BUNDLED] || process.env.BENCH_UNDER_TSX) return measure();
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-w2p-bundle-'));
  try {
    const outfile = join(dir, 'webhook-to-push.mjs');
    await build({ entryPoints: [fileURLToPath(import.meta.url)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning', nodePaths: [fileURLToPath(new URL('../node_modules', import.meta.url))] });
    // Bare imports resolve from the output file's folder: run it where node_modules is reachable.
    const runnable = fileURLToPath(new URL('./.webhook-to-push.bundle.mjs', import.meta.url));
    writeFileSync(runnable, readFileSync(outfile));
    try {
      const out = execFileSync(process.execPath, [runnable], { env: { ...process.env, [BUNDLED]: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 });
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number | string>;
      return { ...r, 'controller code': 'esbuild bundle (as dist/)' };
    } finally {
      rmSync(runnable, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(): Promise<Record<string, number | string>> {
  const commits = Number(process.env.BENCH_COMMITS ?? 15);
  const root = mkdtempSync(join(tmpdir(), 'promshard-bench-w2p-'));
  const repoDir = join(root, 'repo');
  const git = (...args: string[]) => execFileSync('git', ['-C', repoDir, '-c', 'user.name=bench', '-c', 'user.email=bench@promshard.invalid', ...args], { encoding: 'utf8' }).trim();
  generateRepository(repoDir);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'generated');
  git('gc', '-q');

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const controller = await startController({ repo: repoDir, stateDir: join(root, 'controller'), listen: `127.0.0.1:${port}`, token: TOKEN, webhookSecret: SECRET, pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, logWrite: () => undefined });
  const agentDir = join(root, 'agent');
  mkdirSync(agentDir, { recursive: true });
  const configFile = join(agentDir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const stub = await startReloadStub(configFile);
  const agent = await startAgent({ shard: 'shard-000', replica: 'a', prometheusUrl: stub.url, configFile, stateDir: join(agentDir, 'state'), token: TOKEN, controllerUrl: url, promtool: null, heartbeatMs: 5000, pullIntervalMs: 600_000, probeIntervalMs: 30_000, defaultMetrics: false, logWrite: () => undefined });
  const results: Record<string, number | string> = { files: BENCH_SHAPE.files + 1, targets: BENCH_SHAPE.files * BENCH_SHAPE.targetsPerFile, shards: BENCH_SHAPE.shards };
  try {
    // Wait until the first revision runs on the agent, so each commit below is a plain one-file change.
    for (let i = 0; ; i++) {
      if (controller.state.shards.get('shard-000')?.rollout?.status === 'done') break;
      if (i > 600) throw new Error('the first revision never rolled out');
      await new Promise((r) => setTimeout(r, 100));
    }
    const latencies: number[] = [];
    const phases = { fetch: [] as number[], compile: [] as number[], schedule: [] as number[] };
    for (let n = 0; n < commits; n++) {
      // File 0, 200, 400, … are on shard-000: change one of them.
      const i = (n % 25) * BENCH_SHAPE.shards;
      writeFileSync(join(repoDir, teamFilePath(i)), teamFileText(i, BENCH_SHAPE, [`bench-${n}.internal:9100`]));
      git('commit', '-q', '-am', `one file, ${n}`);
      const sha = git('rev-parse', 'HEAD');
      const marks: Record<string, number> = {};
      const started = new Promise<number>((resolve) => {
        const on = (e: ControllerEvent) => {
          if (e.revision === sha && !(e.type in marks)) marks[e.type] = performance.now();
          if (e.type === 'rollout-started' && e.revision === sha) {
            controller.state.events.off('event', on);
            resolve(performance.now());
          }
        };
        controller.state.events.on('event', on);
      });
      const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signWebhookBody(body, SECRET) }, body });
      await res.arrayBuffer();
      latencies.push((await started) - t0);
      // Where the time went, from the controller's own timeline: fetch and commit metadata (until
      // `commit-received`), read + compile + render (until `repository-valid`), scheduling the push.
      phases.fetch.push(marks['commit-received'] - t0);
      phases.compile.push(marks['repository-valid'] - marks['commit-received']);
      phases.schedule.push(marks['rollout-started'] - marks['repository-valid']);
      // Let the push finish before the next commit, so each measurement is one change on an idle controller.
      for (let k = 0; k < 200 && controller.state.shards.get('shard-000')?.rollout?.status !== 'done'; k++) await new Promise((r) => setTimeout(r, 25));
    }
    latencies.sort((a, b) => a - b);
    results['webhook → first push p50 ms'] = round(percentile(latencies, 50));
    results['webhook → first push p90 ms'] = round(percentile(latencies, 90));
    results['webhook → first push max ms'] = round(latencies[latencies.length - 1]);
    for (const [name, xs] of Object.entries(phases)) results[`p50 of phase ${name} ms`] = round(percentile(xs.sort((a, b) => a - b), 50));

    // The same revision compiled in full, as every webhook did before the cache (median of 3).
    const full: number[] = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const source = await readRepositoryFromGit(join(repoDir, '.git'), 'HEAD');
      const c = compileRepository(source, { rules: ALL_RULES });
      buildShardDocuments(c.model!, { revision: 'HEAD', generation: 1, committedAt: '' });
      full.push(performance.now() - t0);
    }
    full.sort((a, b) => a - b);
    results['full compile + render ms (same run)'] = round(full[1]);
    results.commits = commits;
  } finally {
    await agent.close();
    await stub.close();
    await controller.close();
    rmSync(root, { recursive: true, force: true });
  }
  if (process.env.BENCH_UNDER_TSX) results['controller code'] = 'TypeScript sources under tsx, in the bench process';
  return results;
}

if (process.env[BUNDLED]) {
  console.log(JSON.stringify(await measure()));
} else if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await runWebhookToPushBench();
  console.table(r);
}
