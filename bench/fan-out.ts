// Fan-out: how long until every replica of a 200-shard × 2-replica fleet (400 real shard agents) has
// applied a change that touches every shard. The agents run in a few worker processes on loopback.
//
// STAND-IN: each agent's Prometheus is replaced by a minimal HTTP endpoint (bench/support/reload-stub.ts)
// implementing only /-/reload, /metrics (the two reload gauges), /api/v1/status/config (echoing the
// file) and /-/ready — 400 real Prometheus processes do not fit on one machine. promtool is disabled
// in the agents for the same reason. Everything else is real: git, controller, agents, HTTP, the
// agents' atomic writes and reload proofs.
//
// Run: node --import tsx bench/fan-out.ts   (BENCH_SHARDS=200 BENCH_WORKERS=4 BENCH_CONCURRENCY=32)
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { signWebhookBody } from '../core/http/auth.ts';
import { startController } from '../central-controller/start-controller.ts';
import { freePort } from '../test/support/prometheus.ts';

const TOKEN = 'bench-token-4f1d2c8e9a';
const SECRET = 'bench-webhook-secret-77c1';
const HERE = dirname(fileURLToPath(import.meta.url));

function shardsYaml(names: string[], interval: string): string {
  return (
    `defaults:\n  interval: ${interval}\n  timeout: 5s\n  limits: { sample_limit: 10000, label_limit: 30 }\n  max_limits: { sample_limit: 50000, label_limit: 60 }\nshards:\n` +
    names.map((s) => `  - name: ${s}\n    replicas: 2\n    budget: { max_series: 100000, max_targets: 1000 }\n`).join('')
  );
}

export async function runFanOutBench(opts: { shards?: number; workers?: number; concurrency?: number; log?: (s: string) => void } = {}): Promise<Record<string, number | string>> {
  const shardCount = opts.shards ?? Number(process.env.BENCH_SHARDS ?? 200);
  const workers = opts.workers ?? Number(process.env.BENCH_WORKERS ?? 4);
  const concurrency = opts.concurrency ?? Number(process.env.BENCH_CONCURRENCY ?? 32);
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const root = mkdtempSync(join(tmpdir(), 'promshard-bench-fanout-'));
  const repoDir = join(root, 'repo');
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repoDir, encoding: 'utf8' });
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(repoDir, path)), { recursive: true });
    writeFileSync(join(repoDir, path), text);
  };
  const names = Array.from({ length: shardCount }, (_, i) => `shard-${String(i).padStart(3, '0')}`);
  mkdirSync(repoDir);
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
    reconcileMs: 5000,
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
        const child = fork(join(HERE, 'support', 'fan-out-worker.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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

    // The measured change: the default scrape interval changes, so every shard's document changes.
    write('shards.yaml', shardsYaml(names, '20s'));
    git('commit', '-q', '-am', 'every shard: interval 20s');
    const sha = git('rev-parse', 'HEAD').trim();
    const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
    const pushesBefore = controller.metrics.pushesTotal;
    void pushesBefore;
    const t0 = performance.now();
    const res = await fetch(`${controllerUrl}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, SECRET) }, body });
    await res.arrayBuffer();
    const onSha = () => {
      let n = 0;
      for (const s of controller.state.shards.values()) for (const r of controller.state.agents.replicasOf(s.name)) if (r.applied?.revision === sha && r.applied.verified && r.applied.hash === s.desired?.hash) n++;
      return n;
    };
    let half = 0;
    while (onSha() < replicas.length) {
      if (!half && onSha() >= replicas.length / 2) half = performance.now() - t0;
      if (performance.now() - t0 > 60_000) {
        const stuck = controller.state.agents.all().filter((r) => r.applied?.revision !== sha);
        log(JSON.stringify(stuck.slice(0, 5).map((r) => ({ key: r.key, reachable: r.reachable, applied: r.applied, lastPush: r.lastPush, failure: r.failure, lastError: r.lastError, released: controller.state.shards.get(r.shard)?.released?.revision, rollout: controller.state.shards.get(r.shard)?.rollout })), null, 1));
        throw new Error(`fan-out incomplete: ${onSha()}/${replicas.length}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const total = performance.now() - t0;
    results.agents = replicas.length;
    results.shards = shardCount;
    results.worker_processes = workers;
    results.concurrency = concurrency;
    results.all_applied_ms = Math.round(total);
    results.half_applied_ms = Math.round(half);
    results.goal_ms = 5000;
    results.goal_met = total < 5000 ? 'yes' : 'no';
    results.stand_in = 'Prometheus replaced by a minimal reload stub (/-/reload, /metrics reload gauges, /api/v1/status/config, /-/ready); promtool disabled; agents, controller, git and HTTP are real';
    log(`all ${replicas.length} replicas applied the change ${Math.round(total)} ms after the webhook (canary shard first, then ${shardCount - 1} shards, ${concurrency} pushes in flight)`);
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
