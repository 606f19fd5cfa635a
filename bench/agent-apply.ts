// Agent apply latency and memory: a separate `promshard agent` process in front of a real Prometheus,
// a 1,000-job configuration, N applies that each change one target. Latency is measured from the
// request being sent to the response (the agent answers only once the reload is proven), plus the
// agent's own applyMs/reloadMs. RSS is the agent process's own VmRSS.
//
//   node --import tsx bench/agent-apply.ts [applies] [--compiled]
// --compiled also measures the agent compiled to JavaScript with tsc (no tsx loader in the process):
// under `bin/promshard.mjs` tsx's loader thread alone costs about 33 MB of RSS on Node 20.
// Prints a table and, as the last line, one JSON object; `runAgentApplyBench()` returns the same.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDesiredDocument } from '../core/document/desired-document.ts';
import { startPrometheus } from '../test/support/prometheus.ts';

const TOKEN = 'bench-token-0123456789';

function config(jobs: number, variant: number): string {
  const out = ['global:', '  scrape_interval: 60s', '  scrape_timeout: 10s', 'scrape_configs:'];
  for (let i = 0; i < jobs; i++) {
    // Loopback ports below 1024 that nothing listens on: scrapes fail fast, which is fine here.
    const port = i === 0 ? 20000 + variant : 1 + (i % 900);
    out.push(`  - job_name: job_${i}`, '    static_configs:', `      - targets: ["127.0.0.1:${port}"]`, `        labels: {team: team_${i % 40}}`);
  }
  return out.join('\n') + '\n';
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Compiles the CLI with tsc into a temp dir (node_modules symlinked) and returns its entry script. */
function compileAgent(): { entry: string; dir: string } {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'promshard-agent-js-'));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--outDir', dir, '--rootDir', root, '--noEmit', 'false', '--rewriteRelativeImportExtensions', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--verbatimModuleSyntax', '--skipLibCheck', '--types', 'node', join(root, 'cli/main.ts')], { cwd: root, stdio: 'ignore' });
  } catch {
    // Type errors elsewhere in the tree do not stop tsc from emitting JavaScript.
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'run.mjs'), "import { main } from './cli/main.js';\nprocess.exitCode = await main(process.argv.slice(2));\n");
  return { entry: join(dir, 'run.mjs'), dir };
}

export async function runAgentApplyBench(opts: { applies?: number; jobs?: number; compiled?: boolean } = {}): Promise<Record<string, number>> {
  if (opts.compiled) {
    const build = compileAgent();
    try {
      return await benchOnce({ ...opts, entry: build.entry });
    } finally {
      rmSync(build.dir, { recursive: true, force: true });
    }
  }
  return benchOnce({ ...opts, entry: fileURLToPath(new URL('../bin/promshard.mjs', import.meta.url)) });
}

async function benchOnce(opts: { applies?: number; jobs?: number; entry: string }): Promise<Record<string, number>> {
  const applies = opts.applies ?? 40;
  const jobs = opts.jobs ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-agent-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 60s\nscrape_configs: []\n');
  writeFileSync(join(dir, 'token'), TOKEN);
  const prometheus = await startPrometheus({ configFile, dir });
  const bin = opts.entry;
  const child = spawn(
    process.execPath,
    [bin, 'agent', '--shard', 'bench', '--replica', 'a', '--listen', '127.0.0.1:0', '--prometheus-url', prometheus.url, '--config-file', configFile, '--state-dir', join(dir, 'state'), '--token-file', join(dir, 'token')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PROMSHARD_LOG_LEVEL: 'warn' } },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d) => {
        buf += d;
        const m = /\{"listening":"([^"]+)"\}/.exec(buf);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`agent exited: ${stderr}`)));
    });
    const pid = child.pid!;
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssBytes(pid);

    const push = async (variant: number) => {
      const content = config(jobs, variant);
      const doc = buildDesiredDocument({ shard: 'bench', revision: `rev-${variant}`, generation: variant, committedAt: new Date().toISOString(), files: [{ path: 'prometheus.yml', content }] });
      const body = JSON.stringify(doc);
      const t0 = performance.now();
      const res = await fetch(`${url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
      const reply = (await res.json()) as { result: string; applyMs: number; reloadMs: number; error?: string };
      const ms = performance.now() - t0;
      if (reply.result !== 'applied') throw new Error(`apply ${variant}: ${JSON.stringify(reply)}`);
      return { ms, applyMs: reply.applyMs, reloadMs: reply.reloadMs, bytes: body.length };
    };

    await push(1); // warm-up: the first reload creates 1,000 scrape pools
    let peakRss = rssBytes(pid);
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 20);
    const results: Awaited<ReturnType<typeof push>>[] = [];
    for (let i = 0; i < applies; i++) results.push(await push(2 + i));
    clearInterval(sampler);
    const loadRss = rssBytes(pid);

    const total = results.map((r) => r.ms).sort((a, b) => a - b);
    const server = results.map((r) => r.applyMs).sort((a, b) => a - b);
    const reload = results.map((r) => r.reloadMs).sort((a, b) => a - b);
    return {
      jobs,
      applies,
      document_bytes: results[0].bytes,
      apply_p50_ms: round(percentile(total, 50)),
      apply_p99_ms: round(percentile(total, 99)),
      apply_max_ms: round(total[total.length - 1]),
      agent_apply_p50_ms: percentile(server, 50),
      agent_apply_p99_ms: percentile(server, 99),
      reload_proven_p50_ms: percentile(reload, 50),
      reload_proven_p99_ms: percentile(reload, 99),
      rss_idle_mb: round(idleRss / 2 ** 20),
      rss_peak_under_load_mb: round(peakRss / 2 ** 20),
      rss_after_load_mb: round(loadRss / 2 ** 20),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await prometheus.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 10) / 10;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const applies = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 40);
  const r = await runAgentApplyBench({ applies });
  if (process.argv.includes('--compiled')) {
    const c = await runAgentApplyBench({ applies, compiled: true });
    for (const [k, v] of Object.entries(c)) if (k.startsWith('rss_') || k.startsWith('apply_p')) r[`compiled_${k}`] = v;
  }
  const rows: [string, string, string][] = [
    ['apply latency p50 (request → reload proven)', `${r.apply_p50_ms} ms`, 'goal < 300 ms'],
    ['apply latency p99', `${r.apply_p99_ms} ms`, 'goal < 1000 ms'],
    ['  of which agent-side applyMs p50 / p99', `${r.agent_apply_p50_ms} / ${r.agent_apply_p99_ms} ms`, ''],
    ['  of which reload + proof p50 / p99', `${r.reload_proven_p50_ms} / ${r.reload_proven_p99_ms} ms`, ''],
    ['agent RSS idle', `${r.rss_idle_mb} MB`, 'goal < 60 MB'],
    ['agent RSS peak under load', `${r.rss_peak_under_load_mb} MB`, ''],
  ];
  if (r.compiled_rss_idle_mb !== undefined) {
    rows.push(['compiled (no tsx loader): apply p50 / p99', `${r.compiled_apply_p50_ms} / ${r.compiled_apply_p99_ms} ms`, '']);
    rows.push(['compiled: RSS idle / peak under load', `${r.compiled_rss_idle_mb} / ${r.compiled_rss_peak_under_load_mb} MB`, 'goal < 60 MB idle']);
  }
  process.stdout.write(`agent apply benchmark: ${r.jobs} jobs, ${r.applies} applies, ${Math.round(r.document_bytes / 1024)} KiB document\n`);
  for (const [k, v, g] of rows) process.stdout.write(`  ${k.padEnd(46)} ${v.padStart(14)}   ${g}\n`);
  process.stdout.write(JSON.stringify(r) + '\n');
}
