// Benchmark: one cardinality analysis cycle against a real Prometheus 2.42 holding > 300,000 series
// from synthetic exporters on loopback (many healthy services, a bounded host label, and a few planted
// offenders). Measures wall time, queries, the Prometheus CPU time the cycle cost (from
// /proc/<pid>/stat), the analyzer's peak heap growth, and whether the offenders rank first.
//
//   node --import tsx bench/cardinality-cycle.ts
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { Registry } from 'prom-client';
import { startPrometheus } from '../test/support/prometheus.ts';
import { startExporter, line, family, fakeUuid, healthyServiceBody, hostsBody, type Exporter } from '../test/support/exporters.ts';
import { createCardinalityAnalyzer } from '../shard-agent/cardinality/index.ts';

const HEALTHY_JOBS = 32;
const HEALTHY_SCALE = 2; // ≈ 9,000 series per healthy job
const SCRAPE_INTERVAL = '10s';

function offenders(): Record<string, { body: () => string; label: string }> {
  return {
    checkout: {
      label: 'request_id',
      body: () => {
        const rows: string[] = [];
        for (let i = 0; i < 20000; i++) rows.push(line('checkout_requests_total', { request_id: fakeUuid(i, 7), method: i % 4 ? 'GET' : 'POST' }, i));
        return family('checkout_requests_total', 'counter', rows) + healthyServiceBody({ prefix: 'checkout_http' });
      },
    },
    auth: {
      label: 'session',
      body: () => {
        const rows: string[] = [];
        for (let i = 0; i < 8000; i++) rows.push(line('auth_session_last_seen_seconds', { session: fakeUuid(i, 9).replace(/-/g, ''), realm: 'users' }, 1700000000 + i));
        return family('auth_session_last_seen_seconds', 'gauge', rows);
      },
    },
    gateway: {
      label: 'path',
      body: () => {
        const rows: string[] = [];
        for (let i = 0; i < 5000; i++) rows.push(line('gateway_requests_total', { path: `/accounts/${100000 + (i % 2500)}/invoices/${i}`, code: i % 10 ? '200' : '404' }, i));
        return family('gateway_requests_total', 'counter', rows);
      },
    },
  };
}

function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return (Number(fields[11]) + Number(fields[12])) / ticks; // utime + stime
}

export async function runCardinalityBench(): Promise<Record<string, number | string>> {
  const exporters: Exporter[] = [];
  const jobs: Record<string, unknown>[] = [];
  const add = async (job: string, body: string) => {
    const ex = await startExporter(() => body); // bodies are generated once and served as is
    exporters.push(ex);
    jobs.push({ job_name: job, static_configs: [{ targets: [ex.target] }] });
  };
  for (let i = 0; i < HEALTHY_JOBS; i++) await add(`svc-${String(i).padStart(2, '0')}`, healthyServiceBody({ scale: HEALTHY_SCALE }));
  await add('fleet', hostsBody(300));
  const planted = offenders();
  for (const [job, o] of Object.entries(planted)) await add(job, o.body());

  const prom = await startPrometheus({
    config: stringify({ global: { scrape_interval: SCRAPE_INTERVAL, scrape_timeout: '10s' }, scrape_configs: jobs }),
    extraArgs: ['--query.max-samples=50000000'],
  });
  try {
    const q = async (query: string) => {
      const r = await fetch(`${prom.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query }) });
      return Number(((await r.json()) as { data: { result: { value: [number, string] }[] } }).data.result[0]?.value[1] ?? 0);
    };
    const deadline = Date.now() + 90_000;
    let series = 0;
    let up = 0;
    while (Date.now() < deadline) {
      series = await q('sum(scrape_samples_post_metric_relabeling)');
      up = await q('count(up == 1)');
      if (up === jobs.length && series >= 300_000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // one more scrape round so every target has a full, stable last scrape
    await new Promise((r) => setTimeout(r, 11_000));
    series = await q('sum(scrape_samples_post_metric_relabeling)');
    const tsdb = (await (await fetch(`${prom.url}/api/v1/status/tsdb`)).json()) as { data: { headStats: { numSeries: number } } };
    const headSeries = tsdb.data.headStats.numSeries;

    const registry = new Registry();
    const analyzer = createCardinalityAnalyzer({ prometheusUrl: prom.url, shard: 'bench', owners: () => ({}), registry, budgetMs: 30_000, concurrency: 4 });
    const pid = prom.process.pid!;

    const measure = async () => {
      global.gc?.();
      const heap0 = process.memoryUsage().heapUsed;
      let peakHeap = heap0;
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed);
        peakRss = Math.max(peakRss, m.rss);
      }, 5);
      const cpu0 = procCpuSeconds(pid);
      const t0 = performance.now();
      const report = await analyzer.runCycle();
      const wall = performance.now() - t0;
      const cpu1 = procCpuSeconds(pid);
      clearInterval(sampler);
      return { report, wall, promCpu: cpu1 - cpu0, heapGrowth: peakHeap - heap0, peakRss };
    };
    // Prometheus's own CPU rate while idle (scraping 300k series every 10 s), to net it out.
    const idle0 = procCpuSeconds(pid);
    await new Promise((r) => setTimeout(r, 5000));
    const idleRate = (procCpuSeconds(pid) - idle0) / 5;
    const cold = await measure();
    const warm = await measure();

    const flags = analyzer.flags();
    const offenderJobs = new Set(Object.keys(planted));
    const top = flags.slice(0, offenderJobs.size);
    const offendersFirst = top.length === offenderJobs.size && top.every((f) => offenderJobs.has(f.job) && f.label === planted[f.job]!.label);
    const falsePositives = flags.filter((f) => !offenderJobs.has(f.job)).length;
    return {
      prometheus_series: series,
      prometheus_head_series: headSeries,
      jobs: jobs.length,
      cycle_wall_ms: Math.round(cold.wall),
      cycle_result: cold.report.result,
      cycle_queries: cold.report.queries,
      cycle_response_kib: Math.round(cold.report.responseBytes / 1024),
      prometheus_cpu_ms: Math.round(cold.promCpu * 1000),
      prometheus_cpu_ms_net_of_idle: Math.max(0, Math.round((cold.promCpu - (idleRate * cold.wall) / 1000) * 1000)),
      prometheus_idle_cpu_ms_per_s: Math.round(idleRate * 1000),
      labels_total: cold.report.labelsTotal,
      labels_scanned: cold.report.labelsMeasured,
      analyzer_peak_heap_growth_mib: Math.round((cold.heapGrowth / 1048576) * 10) / 10,
      process_peak_rss_mib: Math.round(cold.peakRss / 1048576),
      second_cycle_wall_ms: Math.round(warm.wall),
      second_cycle_prometheus_cpu_ms: Math.round(warm.promCpu * 1000),
      second_cycle_queries: warm.report.queries,
      cycle_query_ms_by_kind: JSON.stringify(cold.report.queryMsByKind),
      second_cycle_query_ms_by_kind: JSON.stringify(warm.report.queryMsByKind),
      flags: flags.length,
      offenders_rank_first: offendersFirst ? 'yes' : 'no',
      top_flags: top.map((f) => `${f.job}/${f.label}:${f.reason}`).join(' '),
      false_positives: falsePositives,
      goal_cycle_under_5s: cold.wall < 5000 ? 'met' : 'missed',
    };
  } finally {
    await prom.destroy();
    await Promise.all(exporters.map((e) => e.close()));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runCardinalityBench();
  const width = Math.max(...Object.keys(result).map((k) => k.length));
  console.log('cardinality cycle benchmark');
  for (const [k, v] of Object.entries(result)) console.log(`  ${k.padEnd(width)}  ${v}`);
  process.exit(result.offenders_rank_first === 'yes' && result.false_positives === 0 ? 0 : 1);
}
