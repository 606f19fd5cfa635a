// `npm run bench`: runs every benchmark in bench/ in one process, one after another (they would
// disturb each other's timings on a 2-core machine), prints one table and writes it, with a
// description of the machine, to bench/results/<timestamp>.json.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type BenchFn = () => Promise<Record<string, number | string>>;

const BENCHES: { name: string; goal: string; load: () => Promise<BenchFn> }[] = [
  { name: 'validate vs promtool', goal: 'validate < 1 s, wall ≤ 1.0× and peak RSS ≤ 2× one `promtool check config` process over all shards (same run); plan < 1.5 s', load: async () => (await import('./validate-vs-promtool.ts')).runValidateBench },
  { name: 'agent apply vs by hand', goal: 'agent p50 ≤ 1.15× writing the file, POST /-/reload and checking the gauges by hand (same run, 1,000 jobs all changing)', load: async () => (await import('./agent-apply.ts')).runAgentApplyBench },
  { name: 'agent RSS idle', goal: '< 60 MB after start-up and 10 s after twenty 1,000-job applies (bare Node 20 in the same run)', load: async () => (await import('./agent-rss.ts')).runAgentRssBench },
  { name: 'webhook to first push (5,000 files)', goal: '< 150 ms for a one-file change; shown beside the full compile', load: async () => (await import('./webhook-to-push.ts')).runWebhookToPushBench },
  { name: 'commit to applied vs http_sd', goal: 'new target visible in /api/v1/targets sooner than with 5 s http_sd polling, same endpoint, p50 (applied is shown, not compared: http_sd has no such moment)', load: async () => (await import('./commit-to-applied.ts')).runCommitToAppliedBench },
  { name: 'commit to first scrape vs http_sd', goal: 'new target scraped sooner than with 5 s and 60 s http_sd refresh (Prometheus 2.42 floor ~5-10 s)', load: async () => (await import('./commit-to-first-scrape.ts')).runCommitToFirstScrapeBench },
  { name: 'fan-out to 400 agents', goal: 'all applied < 3 s after the webhook (median of 5 changes; breakdown: compile, canary, wave, push latency, CPU of controller and agents)', load: async () => (await import('./fan-out.ts')).runFanOutBench },
  { name: 'leader failover and handover', goal: 'SIGKILL → new leader\'s first push < lease + 2 s (15 s and 5 s leases); SIGTERM handover < 2 s', load: async () => (await import('./leader-failover.ts')).runLeaderFailoverBench },
  { name: 'kubernetes discovery', goal: 'a new agent pod runs the desired document < 1 s after it becomes Ready', load: async () => (await import('./kubernetes-discovery.ts')).runKubernetesDiscoveryBench },
  { name: 'splits: render and plan (200 shards, 50 split in 3)', goal: 'render and plan with splits on a quarter of the shards within 1.5× the same repository without splits (same run)', load: async () => (await import('./splits.ts')).runSplitsBench },
  { name: 'reshard 2 → 3 overlap', goal: 'no moved target misses a scrape interval at the global receiver; overlap window and its extra scrape load reported, against the same reshard without overlap (same run)', load: async () => (await import('./reshard-overlap.ts')).runReshardOverlapBench },
  { name: 'event-stream churn', goal: 'controller memory within 20 MB of its start after 10,000 open/close cycles on each SSE endpoint', load: async () => (await import('./event-stream-churn.ts')).runEventStreamChurnBench },
  { name: 'cardinality cycle', goal: 'cycle < 5 s on ≥ 300k series, offenders first', load: async () => (await import('./cardinality-cycle.ts')).runCardinalityBench },
];

function machine() {
  let prometheus = 'not installed';
  try {
    prometheus = execFileSync('prometheus', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch {}
  let osName = '';
  try {
    osName = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {}
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: osName, kernel: release(), node: process.version, prometheus };
}

// Benchmarks run the CLI as users do, through the bundle; make sure it matches the sources.
execFileSync(process.execPath, [fileURLToPath(new URL('../bin/build-bundle.mjs', import.meta.url))], { stdio: 'inherit' });

const only = process.argv.slice(2);
const results: { bench: string; goal: string; figures?: Record<string, number | string>; error?: string; seconds: number }[] = [];
for (const b of BENCHES) {
  if (only.length && !only.some((o) => b.name.includes(o))) continue;
  process.stderr.write(`\n=== ${b.name} (goal: ${b.goal})\n`);
  const t0 = performance.now();
  try {
    const fn = await b.load();
    const figures = await fn();
    results.push({ bench: b.name, goal: b.goal, figures, seconds: Math.round((performance.now() - t0) / 1000) });
  } catch (err) {
    results.push({ bench: b.name, goal: b.goal, error: (err as Error).message, seconds: Math.round((performance.now() - t0) / 1000) });
  }
}

const rows: { bench: string; figure: string; value: number | string }[] = [];
for (const r of results) {
  if (r.error) rows.push({ bench: r.bench, figure: 'ERROR', value: r.error.slice(0, 80) });
  for (const [k, v] of Object.entries(r.figures ?? {})) rows.push({ bench: r.bench, figure: k, value: v });
}
console.table(rows);
const outDir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const file = `${outDir}${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine: machine(), results }, null, 2) + '\n');
console.log(`written to ${file}`);
process.exit(results.some((r) => r.error) ? 1 : 0);
