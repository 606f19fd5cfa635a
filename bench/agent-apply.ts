// Agent apply against doing the same change by hand, in the same run, against one real Prometheus.
// A 1,000-job configuration in which every job changes at every step (each job's label carries the
// step number, so Prometheus rebuilds every scrape pool). Steps alternate between:
//   agent:   POST /v1/apply to a separate `promshard agent` process (the bundle, as users run it);
//            timed from sending the request to its answer, which comes once the reload is proven;
//   by hand: write prometheus.yml atomically (temp file, fsync, rename), POST /-/reload, then read
//            /metrics and check prometheus_config_last_reload_successful == 1 and that its success
//            timestamp moved.
// The agent's own step timings (from its log) give where its extra time goes. Every step is followed by
// the same pause (BENCH_PAUSE_MS, default 250 ms): applies are seconds apart in practice, and the
// pause lets background work of either side finish before the next timed step (the agent starting the
// promtool process its next check will use, Prometheus settling after a reload), instead of charging
// it to whichever step comes next.
//
//   node --import tsx bench/agent-apply.ts [pairs]
// BENCH_AGENT_NODE_FLAGS='--max-semi-space-size=1' starts the agent's node with those flags.
// Prints a table and, as the last line, one JSON object; `runAgentApplyBench()` returns the same.
import { promises as fs, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDesiredDocument } from '../core/document/desired-document.ts';
import { PrometheusClient } from '../shard-agent/prometheus-client.ts';
import { startPrometheus } from '../test/support/prometheus.ts';
import { agentEntry, startAgentProcess } from './support/agent-process.ts';
import { percentile } from './support/percentile.ts';

const TOKEN = 'bench-token-0123456789';

/** Every job differs between two steps (its label carries the step), as in a wholesale relabel. */
export function benchConfig(jobs: number, step: number): string {
  const out = ['global:', '  scrape_interval: 60s', '  scrape_timeout: 10s', 'scrape_configs:'];
  for (let i = 0; i < jobs; i++) {
    // Loopback ports below 1024 that nothing listens on: scrapes fail fast, which is fine here.
    out.push(`  - job_name: job_${i}`, '    static_configs:', `      - targets: ["127.0.0.1:${1 + (i % 900)}"]`, `        labels: {team: team_${i % 40}, step: s${step}}`);
  }
  return out.join('\n') + '\n';
}

export function benchDocument(jobs: number, step: number): string {
  return JSON.stringify(buildDesiredDocument({ shard: 'bench', revision: `rev-${step}`, generation: step, committedAt: new Date().toISOString(), files: [{ path: 'prometheus.yml', content: benchConfig(jobs, step) }] }));
}

export async function pushToAgent(url: string, body: string): Promise<{ result: string; applyMs: number; reloadMs: number; error?: string }> {
  const res = await fetch(`${url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  return (await res.json()) as { result: string; applyMs: number; reloadMs: number; error?: string };
}

/** What a person (or a script) does without the agent. */
async function byHand(prometheus: PrometheusClient, configFile: string, content: string): Promise<void> {
  const before = await prometheus.reloadGauges();
  const t0 = performance.now();
  const temp = `${configFile}.tmp`;
  const h = await fs.open(temp, 'w');
  await h.writeFile(content);
  await h.sync();
  await h.close();
  await fs.rename(temp, configFile);
  const r = await prometheus.reload(10_000);
  if (!r.ok) throw new Error(`reload by hand refused: ${r.error}`);
  const after = await prometheus.reloadGauges();
  if (after.successful !== 1 || !(after.successTimestamp > before.successTimestamp)) throw new Error(`reload by hand not visible in the gauges: ${JSON.stringify({ before, after })}`);
  return void (performance.now() - t0);
}

const round = (n: number) => Math.round(n * 10) / 10;
const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

export async function runAgentApplyBench(opts: { pairs?: number; jobs?: number } = {}): Promise<Record<string, number>> {
  const pairs = opts.pairs ?? 20;
  const jobs = opts.jobs ?? 1000;
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-agent-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 60s\nscrape_configs: []\n');
  writeFileSync(join(dir, 'token'), TOKEN);
  const prometheus = await startPrometheus({ configFile, dir });
  const client = new PrometheusClient(prometheus.url, 10_000);
  const agent = await startAgentProcess(agentEntry(), ['--shard', 'bench', '--replica', 'a', '--prometheus-url', prometheus.url, '--config-file', configFile, '--state-dir', join(dir, 'state'), '--token-file', join(dir, 'token')], { PROMSHARD_LOG_LEVEL: 'info' }, (process.env.BENCH_AGENT_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  try {
    const agentMs: number[] = [];
    const handMs: number[] = [];
    const stepSamples: Record<string, number>[] = [];
    const proofs: string[] = [];
    let step = 1;
    const pauseMs = Number(process.env.BENCH_PAUSE_MS ?? 250);
    const pause = () => new Promise((r) => setTimeout(r, pauseMs));
    // Warm-up: the first reload creates the 1,000 scrape pools, the first by-hand write the temp file.
    const warm = await pushToAgent(agent.url, benchDocument(jobs, step++));
    if (warm.result !== 'applied') throw new Error(`warm-up apply: ${JSON.stringify(warm)}`);
    await byHand(client, configFile, benchConfig(jobs, step++));
    for (let i = 0; i < pairs; i++) {
      // Alternate which goes first, so that neither always follows the other's leftovers.
      const order = i % 2 === 0 ? ['agent', 'hand'] : ['hand', 'agent'];
      for (const who of order) {
        const s = step++;
        if (who === 'agent') {
          const body = benchDocument(jobs, s);
          const logMark = agent.stderr().length;
          const t0 = performance.now();
          const reply = await pushToAgent(agent.url, body);
          agentMs.push(performance.now() - t0);
          if (reply.result !== 'applied') throw new Error(`apply ${s}: ${JSON.stringify(reply)}`);
          const line = agent.stderr().slice(logMark).split('\n').find((l) => l.includes('reload proven'));
          if (line) stepSamples.push((JSON.parse(line) as { steps: Record<string, number> }).steps);
          if (line) proofs.push(String((JSON.parse(line) as { proof?: string }).proof));
        } else {
          const content = benchConfig(jobs, s);
          const t0 = performance.now();
          await byHand(client, configFile, content);
          handMs.push(performance.now() - t0);
        }
        await pause();
      }
    }
    const a = [...agentMs].sort((x, y) => x - y);
    const h = [...handMs].sort((x, y) => x - y);
    const out: Record<string, number> = {
      jobs,
      pairs,
      agent_apply_p50_ms: round(percentile(a, 50)),
      agent_apply_p90_ms: round(percentile(a, 90)),
      by_hand_p50_ms: round(percentile(h, 50)),
      by_hand_p90_ms: round(percentile(h, 90)),
      ratio_p50: Math.round((percentile(a, 50) / percentile(h, 50)) * 100) / 100,
      ratio_p90: Math.round((percentile(a, 90) / percentile(h, 90)) * 100) / 100,
      added_p50_ms: round(percentile(a, 50) - percentile(h, 50)),
      // Applies proven without /api/v1/status/config (same Prometheus process; see shard-agent/process-proof.ts).
      same_process_proofs: proofs.filter((p) => p === 'same-process').length,
    };
    // Median, per step, of the time since the request arrived at which that step ended.
    const names = [...new Set(stepSamples.flatMap((s) => Object.keys(s)))];
    for (const n of names) out[`agent_step_${n}_ms`] = median(stepSamples.map((s) => s[n]).filter((v) => v !== undefined));
    return out;
  } finally {
    await agent.stop();
    await prometheus.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const pairs = Number(process.argv.slice(2).find((x) => /^\d+$/.test(x)) ?? 20);
  const r = await runAgentApplyBench({ pairs });
  process.stdout.write(`agent apply vs by hand (same run, alternating): ${r.jobs} jobs, every job changes, ${r.pairs} of each\n`);
  process.stdout.write(`  agent   p50 ${r.agent_apply_p50_ms} ms  p90 ${r.agent_apply_p90_ms} ms\n`);
  process.stdout.write(`  by hand p50 ${r.by_hand_p50_ms} ms  p90 ${r.by_hand_p90_ms} ms\n`);
  process.stdout.write(`  ratio   p50 ${r.ratio_p50}×  p90 ${r.ratio_p90}×   (goal p50 ≤ 1.15×)\n`);
  process.stdout.write(`  agent steps (ms since the request arrived, median): ${Object.entries(r).filter(([k]) => k.startsWith('agent_step_')).map(([k, v]) => `${k.slice(11, -3)} ${v}`).join(', ')}\n`);
  process.stdout.write(JSON.stringify(r) + '\n');
}
