// Agent memory when idle: RSS of a `promshard agent` process (the bundle, as users run it) beside a
// real Prometheus, 3 s after start-up and 10 s after a burst of twenty 1,000-job applies in which every
// job changes; bare Node 20 (an empty timer loop) measured in the same run for comparison. Each run
// measures the agent as started plainly and with a small young generation (SEMI_SPACE_FLAG).
//
//   node --import tsx bench/agent-rss.ts [runs]
// Prints a table and, as the last line, one JSON object; `runAgentRssBench()` returns the same.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../core/time/backoff.ts';
import { startPrometheus } from '../test/support/prometheus.ts';
import { benchDocument, pushToAgent } from './agent-apply.ts';
import { agentEntry, descendantsRssMiB, rssMiB, startAgentProcess } from './support/agent-process.ts';

const TOKEN = 'bench-token-0123456789';
const GOAL_MB = 60;
/** A young generation capped from the node command line (it cannot be set at run time): compared, not needed since the agent collects after a burst (docs/agent.md, Memory). */
export const SEMI_SPACE_FLAG = '--max-semi-space-size=1';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function bareNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  await sleep(1500);
  const rss = rssMiB(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return rss;
}

async function agentOnce(entry: string[], burst: number, jobs: number, nodeFlags: string[]): Promise<{ startup: number; afterBurst: number; peak: number; heapUsed: number; heapTotal: number; childrenStartup: number; childrenAfterBurst: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-rss-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 60s\nscrape_configs: []\n');
  writeFileSync(join(dir, 'token'), TOKEN);
  const prometheus = await startPrometheus({ configFile, dir });
  const agent = await startAgentProcess(entry, ['--shard', 'bench', '--replica', 'a', '--prometheus-url', prometheus.url, '--config-file', configFile, '--state-dir', join(dir, 'state'), '--token-file', join(dir, 'token')], { PROMSHARD_LOG_LEVEL: 'warn' }, nodeFlags);
  try {
    await sleep(3000);
    const startup = rssMiB(agent.pid);
    const childrenStartup = descendantsRssMiB(agent.pid);
    let peak = startup;
    for (let i = 1; i <= burst; i++) {
      const reply = await pushToAgent(agent.url, benchDocument(jobs, i));
      if (reply.result !== 'applied') throw new Error(`apply ${i}: ${JSON.stringify(reply)}`);
      peak = Math.max(peak, rssMiB(agent.pid));
    }
    await sleep(10_000);
    const afterBurst = rssMiB(agent.pid);
    const childrenAfterBurst = descendantsRssMiB(agent.pid);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    const mb = (name: string) => Math.round((Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]) / 2 ** 20) * 10) / 10;
    const spaces = [...metrics.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)].map((m) => `${m[1]} ${Math.round(Number(m[2]) / 2 ** 20)}`);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`heap used ${mb('nodejs_heap_size_used_bytes')} MB, total ${mb('nodejs_heap_size_total_bytes')} MB, external ${mb('nodejs_external_memory_bytes')} MB; spaces (MB): ${spaces.join(', ')}\n`);
    return { startup, afterBurst, peak, heapUsed: mb('nodejs_heap_size_used_bytes'), heapTotal: mb('nodejs_heap_size_total_bytes'), childrenStartup, childrenAfterBurst };
  } finally {
    await agent.stop();
    await prometheus.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runAgentRssBench(opts: { runs?: number; burst?: number; jobs?: number } = {}): Promise<Record<string, number>> {
  const runs = opts.runs ?? 3;
  const entry = agentEntry();
  const bare: number[] = [];
  const samples: Awaited<ReturnType<typeof agentOnce>>[] = [];
  const small: Awaited<ReturnType<typeof agentOnce>>[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(await bareNodeRss());
    samples.push(await agentOnce(entry, opts.burst ?? 20, opts.jobs ?? 1000, []));
    small.push(await agentOnce(entry, opts.burst ?? 20, opts.jobs ?? 1000, [SEMI_SPACE_FLAG]));
  }
  return {
    small_young_gen_rss_after_startup_mb: median(small.map((s) => s.startup)),
    small_young_gen_rss_10s_after_burst_mb: median(small.map((s) => s.afterBurst)),
    small_young_gen_rss_peak_during_burst_mb: median(small.map((s) => s.peak)),
    runs,
    bare_node_rss_mb: median(bare),
    agent_rss_after_startup_mb: median(samples.map((s) => s.startup)),
    agent_rss_10s_after_burst_mb: median(samples.map((s) => s.afterBurst)),
    // The spread matters: a run whose last collection came before the burst ended keeps its garbage.
    agent_rss_10s_after_burst_min_mb: Math.min(...samples.map((s) => s.afterBurst)),
    agent_rss_10s_after_burst_max_mb: Math.max(...samples.map((s) => s.afterBurst)),
    agent_rss_peak_during_burst_mb: median(samples.map((s) => s.peak)),
    // Processes the agent keeps running beside it (the promtool waiting for the next check): not the
    // agent's own RSS, which the goal is about, but memory an idle agent keeps in use all the same.
    agent_children_rss_after_startup_mb: median(samples.map((s) => s.childrenStartup)),
    agent_children_rss_10s_after_burst_mb: median(samples.map((s) => s.childrenAfterBurst)),
    agent_heap_used_after_burst_mb: median(samples.map((s) => s.heapUsed)),
    agent_heap_total_after_burst_mb: median(samples.map((s) => s.heapTotal)),
    goal_mb: GOAL_MB,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const runs = Number(process.argv.slice(2).find((x) => /^\d+$/.test(x)) ?? 3);
  const r = await runAgentRssBench({ runs });
  const verdict = (v: number) => (v < GOAL_MB ? 'met' : 'missed');
  process.stdout.write(`agent RSS (median of ${r.runs} runs; goal < ${GOAL_MB} MB)\n`);
  process.stdout.write(`  bare Node ${process.version}            ${r.bare_node_rss_mb} MB\n`);
  process.stdout.write(`  agent after start-up          ${r.agent_rss_after_startup_mb} MB  (${verdict(r.agent_rss_after_startup_mb)}; +${Math.round((r.agent_rss_after_startup_mb - r.bare_node_rss_mb) * 10) / 10} MB over bare Node)\n`);
  process.stdout.write(`  agent 10 s after 20 applies   ${r.agent_rss_10s_after_burst_mb} MB  (${verdict(r.agent_rss_10s_after_burst_mb)}; runs ${r.agent_rss_10s_after_burst_min_mb}–${r.agent_rss_10s_after_burst_max_mb} MB; peak ${r.agent_rss_peak_during_burst_mb} MB)\n`);
  process.stdout.write(`  processes the agent keeps beside it (its waiting promtool): ${r.agent_children_rss_after_startup_mb} MB after start-up, ${r.agent_children_rss_10s_after_burst_mb} MB after the burst (not in the figures above)\n`);
  process.stdout.write(`  with ${SEMI_SPACE_FLAG}: after start-up ${r.small_young_gen_rss_after_startup_mb} MB (${verdict(r.small_young_gen_rss_after_startup_mb)}), 10 s after 20 applies ${r.small_young_gen_rss_10s_after_burst_mb} MB (${verdict(r.small_young_gen_rss_10s_after_burst_mb)}; peak ${r.small_young_gen_rss_peak_during_burst_mb} MB)\n`);
  process.stdout.write(JSON.stringify(r) + '\n');
}
