// Fan-out: how long until every replica of a 200-shard × 2-replica fleet (400 real shard agents) has
// applied a change that touches every shard. The agents run in a few worker processes on loopback.
//
// STAND-IN: each agent's Prometheus is replaced by a minimal HTTP endpoint (bench/support/reload-stub.ts)
// implementing only /-/reload, /metrics (the two reload gauges), /api/v1/status/config (echoing the
// file) and /-/ready — 400 real Prometheus processes do not fit on one machine. promtool is disabled
// in the agents for the same reason. Everything else is real: git, controller, agents, HTTP, the
// agents' atomic writes and reload proofs.
//
// Several changes in a row on the same fleet (BENCH_FANOUT_RUNS, default 5); the figures are medians,
// with a breakdown per run: compile (webhook → every shard desired), canary, wave, push latency, the
// CPU the controller (this process) and the agents (with their stubs) used meanwhile and what share of
// the machine's cores that is over the wall time, and what the fleet was asked meanwhile (reloads,
// target-health calls). "All applied" is the controller holding every agent's proven status of the
// new document; each run then asks the agents themselves and fails if any does not run it. The next
// change waits until this one's target-health watches have settled.
//
// Run: node --import tsx bench/fan-out.ts   (BENCH_SHARDS=200 BENCH_WORKERS=4 BENCH_CONCURRENCY=32 BENCH_FANOUT_RUNS=5)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { signWebhookBody } from '../core/http/auth.ts';
import { startController } from '../central-controller/start-controller.ts';
import { freePort } from '../test/support/prometheus.ts';
import { benchRepo } from './support/bench-repo.ts';

const TOKEN = 'bench-token-4f1d2c8e9a';
const SECRET = 'bench-webhook-secret-77c1';
const HERE = dirname(fileURLToPath(import.meta.url));

function shardsYaml(names: string[], interval: string): string {
  return (
    `defaults:\n  interval: ${interval}\n  timeout: 5s\n  limits: { sample_limit: 10000, label_limit: 30 }\n  max_limits: { sample_limit: 50000, label_limit: 60 }\nshards:\n` +
    names.map((s) => `  - name: ${s}\n    replicas: 2\n    budget: { max_series: 100000, max_targets: 1000 }\n`).join('')
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : 0);

export async function runFanOutBench(opts: { shards?: number; workers?: number; concurrency?: number; runs?: number; log?: (s: string) => void } = {}): Promise<Record<string, number | string>> {
  const shardCount = opts.shards ?? Number(process.env.BENCH_SHARDS ?? 200);
  const workers = opts.workers ?? Number(process.env.BENCH_WORKERS ?? 4);
  const concurrency = opts.concurrency ?? Number(process.env.BENCH_CONCURRENCY ?? 32);
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const root = mkdtempSync(join(tmpdir(), 'promshard-bench-fanout-'));
  const repoDir = join(root, 'repo');
  const { git, write } = benchRepo(repoDir);
  const names = Array.from({ length: shardCount }, (_, i) => `shard-${String(i).padStart(3, '0')}`);
  git('init', '-q', '-b', 'main');
  write('shards.yaml', shardsYaml(names, '30s'));
  names.forEach((s, i) => write(`teams/team-${s}/main.yaml`, `team: team-${s}\nshard: ${s}\njobs:\n  - name: svc-${s}\n    targets: ["10.0.${Math.floor(i / 250)}.${i % 250}:9100"]\n`));
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');

  const port = await freePort();
  const controllerUrl = `http://127.0.0.1:${port}`;
  const controller = await startController({
    repo: repoDir,
    stateDir: join(root, 'controller'),
    listen: `127.0.0.1:${port}`,
    token: TOKEN,
    webhookSecret: SECRET,
    pollMs: 600_000,
    reconcileMs: 10_000, // the defaults (10 s), like the agents' heartbeat below
    heartbeatTimeoutMs: 20_000,
    concurrency,
    defaultMetrics: false,
    logWrite: () => undefined,
  });
  const children: ChildProcess[] = [];
  const results: Record<string, number | string> = {};
  try {
    const replicas = names.flatMap((shard) => [
      { shard, replica: 'a' },
      { shard, replica: 'b' },
    ]);
    const t0Start = performance.now();
    await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const child = fork(join(HERE, 'support', 'fan-out-worker.ts'), [], { execArgv: ['--import', 'tsx', ...(process.env.FANOUT_WORKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FANOUT_WORKER_PROF}`] : [])], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          child.once('error', reject);
          child.on('message', (m: { type: string }) => m.type === 'ready' && resolve());
          child.send({ type: 'start', dir: join(root, `worker-${w}`), controllerUrl, token: TOKEN, replicas: replicas.filter((_, i) => i % workers === w) });
        });
      }),
    );
    log(`${replicas.length} agents started in ${workers} worker processes in ${Math.round(performance.now() - t0Start)} ms (Prometheus replaced by a reload stub, see header)`);
    const inSync = () => {
      let n = 0;
      for (const s of controller.state.shards.values()) {
        if (!s.desired) continue;
        for (const r of controller.state.agents.replicasOf(s.name)) if (r.applied?.hash === s.desired.hash && r.applied.verified) n++;
      }
      return n;
    };
    const deadline = Date.now() + 120_000;
    while (inSync() < replicas.length) {
      if (Date.now() > deadline) throw new Error(`initial rollout incomplete: ${inSync()}/${replicas.length}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    log(`initial rollout complete: ${inSync()}/${replicas.length} replicas in sync after ${Math.round(performance.now() - t0Start)} ms`);
    await new Promise((r) => setTimeout(r, 3000)); // the initial rollout's own after-work (target watches) settles

    /** One answer from each worker process to `msg`, summed: CPU (ms), the stubs' counters, agents applied. */
    type WorkerAnswer = { type: string; usage?: NodeJS.CpuUsage; reloads?: number; targetCalls?: number; count?: number };
    const askWorkers = async (msg: { type: string; revision?: string }): Promise<WorkerAnswer[]> =>
      Promise.all(
        children.map(
          (c) =>
            new Promise<WorkerAnswer>((resolve) => {
              const on = (m: WorkerAnswer) => {
                if (m.type !== msg.type) return;
                c.off('message', on);
                resolve(m);
              };
              c.on('message', on);
              c.send(msg);
            }),
        ),
      );
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const workersNow = async () => {
      const answers = await askWorkers({ type: 'cpu' });
      return { cpuMs: sum(answers.map((m) => (m.usage!.user + m.usage!.system) / 1000)), reloads: sum(answers.map((m) => m.reloads ?? 0)), targetCalls: sum(answers.map((m) => m.targetCalls ?? 0)) };
    };
    const canaryShard = names[0]!; // the first changed shard by name (no --canary-shard here)
    // Applied = the controller holds the agent's own proven status of this revision's document (from its
    // report or the push's answer); checked again from the agents' side once the run ends.
    const isApplied = (r: ReturnType<typeof controller.state.agents.all>[number], sha: string) => r.applied?.revision === sha && r.applied.verified && r.applied.hash === controller.state.shards.get(r.shard)?.desired?.hash;
    const appliedOn = (sha: string, shard: string) => controller.state.agents.replicasOf(shard).filter((r) => isApplied(r, sha)).length;
    /** Every replica's revision record settled its target watch (or has none): the fleet is quiet again. */
    const watchesSettled = (sha: string) => Object.values(controller.state.revisions.get(sha)?.shards ?? {}).every((l) => l.targetsSettled);

    // One measured change: the default scrape interval changes, so every shard's document changes.
    const measure = async (run: number) => {
      write('shards.yaml', shardsYaml(names, `${20 + run}s`));
      git('commit', '-q', '-am', `every shard: interval ${20 + run}s`);
      const sha = git('rev-parse', 'HEAD').trim();
      const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
      const cpu0 = process.cpuUsage();
      const workers0 = await workersNow();
      // Only the replicas not yet applied are looked at on each tick: the controller runs in this
      // process, and its CPU figure should be its own, not this loop's.
      const pending = new Set(controller.state.agents.all());
      const t0 = performance.now();
      if (process.env.FANOUT_MARKS) log(`mark start ${process.hrtime.bigint() / 1000n}`);
      const res = await fetch(`${controllerUrl}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, SECRET) }, body });
      await res.arrayBuffer();
      let compiled = 0;
      let canary = 0;
      let half = 0;
      for (;;) {
        const now = performance.now() - t0;
        if (!compiled && [...controller.state.shards.values()].every((s) => s.desired?.revision === sha)) compiled = now;
        if (!canary && appliedOn(sha, canaryShard) === 2) canary = now;
        for (const r of pending) if (isApplied(r, sha)) pending.delete(r);
        const n = replicas.length - pending.size;
        if (!half && n >= replicas.length / 2) half = now;
        if (n === replicas.length) break;
        if (now > 60_000) {
          const stuck = controller.state.agents.all().filter((r) => r.applied?.revision !== sha);
          log(JSON.stringify(stuck.slice(0, 5).map((r) => ({ key: r.key, reachable: r.reachable, applied: r.applied, lastPush: r.lastPush, failure: r.failure, lastError: r.lastError, released: controller.state.shards.get(r.shard)?.released?.revision, rollout: controller.state.shards.get(r.shard)?.rollout })), null, 1));
          throw new Error(`fan-out incomplete: ${n}/${replicas.length}`);
        }
        await new Promise((r) => setTimeout(r, 20)); // the controller runs in this process: a tight poll would steal its CPU
      }
      const total = performance.now() - t0;
      if (process.env.FANOUT_MARKS) log(`mark end ${process.hrtime.bigint() / 1000n}`);
      const cpu = process.cpuUsage(cpu0);
      const workers1 = await workersNow();
      const byAgents = sum((await askWorkers({ type: 'applied', revision: sha })).map((m) => m.count ?? 0));
      if (byAgents !== replicas.length) throw new Error(`the controller saw all ${replicas.length} applied, the agents say ${byAgents}`);
      // Each push's duration as the controller saw it: waiting for a slot, the call, and the agent's apply.
      const pushes = controller.state.agents
        .all()
        .filter((r) => r.lastPush?.revision === sha)
        .map((r) => r.lastPush!.durationMs)
        .sort((a, b) => a - b);
      const m: Record<string, number> = {
        all_applied_ms: Math.round(total),
        half_applied_ms: Math.round(half),
        compile_ms: Math.round(compiled), // webhook → every shard's new document desired
        canary_ms: Math.round(canary - compiled), // canary shard's two replicas, one after the other
        wave_ms: Math.round(total - canary), // the 199 other shards, replica by replica, `concurrency` pushes in flight
        push_p50_ms: pct(pushes, 0.5),
        push_p90_ms: pct(pushes, 0.9),
        controller_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
        agents_cpu_ms: Math.round(workers1.cpuMs - workers0.cpuMs),
        // What the fleet had to do meanwhile: Prometheus reloads (stub) and target-health calls (agent + stub).
        stub_reloads: workers1.reloads - workers0.reloads,
        target_health_calls: workers1.targetCalls - workers0.targetCalls,
        load_1m: Math.round(loadavg()[0]! * 10) / 10,
      };
      const busy = Math.round((100 * (m.controller_cpu_ms + m.agents_cpu_ms)) / (cpus().length * total));
      log(`run ${run}: all ${replicas.length} applied in ${m.all_applied_ms} ms (compile ${m.compile_ms}, canary ${m.canary_ms}, wave ${m.wave_ms}; push p50 ${m.push_p50_ms} p90 ${m.push_p90_ms}; CPU controller ${m.controller_cpu_ms} ms, agents+stubs ${m.agents_cpu_ms} ms, ${busy} % of ${cpus().length} cores over the wall time; ${m.stub_reloads} reloads, ${m.target_health_calls} target-health calls; load ${m.load_1m})`);
      // The next change starts from a quiet fleet: this revision's target watches settle first, and the
      // kept-alive connections of this one have closed (Node's 5 s keep-alive timeout), as between
      // changes minutes apart; a shorter gap would let the next change reuse them and look cheaper.
      const endedAt = Date.now();
      const quiet = endedAt + 30_000;
      while (!watchesSettled(sha) && Date.now() < quiet) await new Promise((r) => setTimeout(r, 250));
      const afterWatch = await workersNow();
      m.target_health_calls_total = afterWatch.targetCalls - workers0.targetCalls;
      await new Promise((r) => setTimeout(r, Math.max(1000, endedAt + 6000 - Date.now())));
      return m;
    };

    const runs = opts.runs ?? Number(process.env.BENCH_FANOUT_RUNS ?? 5);
    const measured: Record<string, number>[] = [];
    for (let run = 0; run < runs; run++) measured.push(await measure(run));
    results.agents = replicas.length;
    results.shards = shardCount;
    results.worker_processes = workers;
    results.cores = cpus().length;
    results.concurrency = concurrency;
    results.runs = runs;
    for (const key of Object.keys(measured[0]!)) results[key] = median(measured.map((m) => m[key]!));
    results.all_applied_runs_ms = measured.map((m) => m.all_applied_ms).join(' / ');
    results.goal_ms = 3000;
    results.goal_met = (results.all_applied_ms as number) < 3000 ? 'yes' : 'no';
    results.layout = `${shardCount} shards × 2 replicas; canary shard ${canaryShard} first (its replicas a then b), then the other ${shardCount - 1} shards, each replica by replica, ${concurrency} pushes in flight`;
    results.stand_in = 'Prometheus replaced by a minimal reload stub (/-/reload, /metrics reload gauges, /api/v1/status/config, /api/v1/targets, /-/ready); promtool disabled; agents, controller, git and HTTP are real';
    log(`median of ${runs}: all ${replicas.length} replicas applied ${results.all_applied_ms} ms after the webhook (goal < 3000 ms)`);
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              c.kill('SIGKILL');
              resolve();
            }, 10_000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.send({ type: 'stop' });
          }),
      ),
    );
    await controller.close();
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runFanOutBench();
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
}
