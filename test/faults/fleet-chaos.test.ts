// Fault injection on the whole system: a controller (its own process) following a real git repository,
// 2 shards × 2 replicas of real agents (their own processes) beside real Prometheus processes, and a
// TCP proxy between the controller and one agent. A seeded random sequence of steps mixes valid and
// invalid commits with kill -9 / restart of agents and of the controller, stop / start of Prometheus,
// and a slow, refusing or silent network to one agent. Meanwhile every Prometheus's loaded
// configuration and every configuration file on disk are sampled every SAMPLE_MS.
//
// Asserted (the bound is stated in docs/operations.md):
//   1. within CONVERGENCE_BOUND_MS after the faults stop, every replica runs the newest valid revision;
//   2. no Prometheus ever ran, and no config file ever held, anything but a rendered valid revision
//      (or the bootstrap file it started with) — a half-written file would fail this;
//   3. no update is lost: each config file is byte-equal to the rendering of the last valid commit,
//      and each Prometheus's loaded configuration means the same;
//   4. the controller's and the agents' reports agree with what Prometheus runs.
//
// Replay a failure with PROMSHARD_FAULT_SEED=<seed printed at the start and in every assertion>.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { signWebhookBody } from '../../core/http/auth.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { killAllChildren, runSeed, seededRandom, stablePort, startAgentProcess, startControllerProcess, writeAdminDigest, writeAgentCredential, writeSecret, type NodeProcess } from '../support/fleet.ts';
import { startTcpProxy, type ProxyMode, type TcpProxy } from '../support/tcp-proxy.ts';
import { configKey } from '../support/config-semantics.ts';

const SEED = runSeed();
const STEPS = Number(process.env.PROMSHARD_FAULT_STEPS ?? 20);
/** After the last fault is healed, every replica must run the newest valid revision within this. */
export const CONVERGENCE_BOUND_MS = 30_000;
const SAMPLE_MS = 150;
const TOKEN = 'fault-suite-token-3b9e61f0c2';
const AGENT_SECRET = 'fault-suite-agent-secret-91d0e4';
const SECRET = 'fault-suite-webhook-secret-77d1';
const BOOTSTRAP = 'global:\n  scrape_interval: 15s\nscrape_configs: []\n';
const SHARDS = ['networking', 'storage'] as const;
type Shard = (typeof SHARDS)[number];
const REPLICAS = ['a', 'b'] as const;

process.stdout.write(`# fault suite seed: PROMSHARD_FAULT_SEED=${SEED} (steps: ${STEPS})\n`);
const why = (msg: string) => `${msg} [replay: PROMSHARD_FAULT_SEED=${SEED}]`;

const SHARDS_YAML = `defaults:
  interval: 15s
  timeout: 5s
  limits: { sample_limit: 10000, label_limit: 30 }
  max_limits: { sample_limit: 50000, label_limit: 60 }
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { shard: networking }
  - name: storage
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { shard: storage }
`;

// ---------------------------------------------------------------------------------------------
// The repository model: per shard, a team file with a few jobs. Valid changes edit targets and
// intervals; invalid commits are rendered from the model with one deliberate fault.

interface JobModel {
  name: string;
  ports: number[];
  interval: string;
}
type RepoModel = Record<Shard, JobModel[]>;
const TEAM: Record<Shard, string> = { networking: 'netops', storage: 'storage-core' };
const BASE_PORT: Record<Shard, number> = { networking: 20000, storage: 30000 };
const INTERVALS = ['10s', '15s', '20s', '30s'];

type Fault = 'typo' | 'duplicate-job' | 'bad-regex' | 'timeout-over-interval';

function teamYaml(shard: Shard, jobs: JobModel[], fault?: Fault): string {
  const lines = [`team: ${TEAM[shard]}`, `shard: ${shard}`, 'jobs:'];
  jobs.forEach((j, i) => {
    lines.push(`  - name: ${j.name}`);
    const key = fault === 'typo' && i === 0 ? 'targtes' : 'targets';
    lines.push(`    ${key}: [${j.ports.map((p) => `"127.0.0.1:${p}"`).join(', ')}]`);
    lines.push(`    interval: ${j.interval}`);
    if (fault === 'timeout-over-interval' && i === 0) lines.push('    timeout: 45s');
    if (fault === 'bad-regex' && i === 0) lines.push('    relabel_configs:', '      - source_labels: [__address__]', '        regex: "(127|10"', '        target_label: origin');
  });
  return lines.join('\n') + '\n';
}

function repoFiles(model: RepoModel, fault?: { kind: Fault; shard: Shard }): Record<string, string> {
  const files: Record<string, string> = { 'shards.yaml': SHARDS_YAML };
  for (const s of SHARDS) files[`teams/${TEAM[s]}/jobs.yaml`] = teamYaml(s, model[s], fault?.shard === s ? fault.kind : undefined);
  if (fault?.kind === 'duplicate-job') {
    const other: Shard = fault.shard === 'networking' ? 'storage' : 'networking';
    files[`teams/${TEAM[other]}/dup.yaml`] = teamYaml(other, [{ name: model[fault.shard][0].name, ports: [BASE_PORT[other] + 999], interval: '15s' }]);
  }
  return files;
}

/** Renders the repository with the shared compiler, as the controller will: null when invalid. */
function render(files: Record<string, string>): Record<Shard, string> | null {
  const c = compileFiles(files);
  if (!c.valid || !c.model) return null;
  const docs = buildShardDocuments(c.model, { revision: 'x', generation: 0, committedAt: new Date(0).toISOString() });
  return { networking: docs.get('networking')!.files[0].content, storage: docs.get('storage')!.files[0].content };
}

// ---------------------------------------------------------------------------------------------

interface ReplicaRig {
  shard: Shard;
  replica: string;
  dir: string;
  configFile: string;
  stateDir: string;
  port: number;
  prometheus: RunningPrometheus;
  prometheusUp: boolean;
  agent: NodeProcess | null;
  /** The controller reaches this agent through it (replica networking/b only). */
  proxy: TcpProxy | null;
}

describe(`fault injection: controller + 2 shards × 2 agents + Prometheus (seed ${SEED})`, { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let root: string;
  let repo: TestGitRepo;
  let controllerPort: number;
  let controllerUrl: string;
  let controller: NodeProcess | null = null;
  const rigs: ReplicaRig[] = [];
  const tokenFile = () => join(root, 'token');
  const secretFile = () => join(root, 'secret');
  // Per-agent credentials: the controller derives each agent's from this secret; the test reads the
  // agents' status with the admin token, which agents know by its digest only.
  const agentSecretFile = () => join(root, 'agent-secret');
  let model: RepoModel;
  /** Every valid rendering so far (plus the bootstrap file), per shard: exact bytes and meanings. */
  const allowedBytes: Record<Shard, Set<string>> = { networking: new Set([BOOTSTRAP]), storage: new Set([BOOTSTRAP]) };
  const allowedMeaning: Record<Shard, Set<string>> = { networking: new Set([configKey(BOOTSTRAP)]), storage: new Set([configKey(BOOTSTRAP)]) };
  let lastValid: { sha: string; rendered: Record<Shard, string> } | null = null;
  const journal: string[] = [];
  const violations: string[] = [];
  const samples = { files: 0, loaded: 0 };
  let sampling = false;
  let sampler: Promise<void> | null = null;
  const rng = seededRandom(SEED);
  const t0 = Date.now();
  const note = (s: string) => journal.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${s}`);

  const startController = async () => {
    const { proc } = await startControllerProcess({
      repo: repo.dir,
      port: controllerPort,
      stateDir: join(root, 'controller-state'),
      tokenFile: tokenFile(),
      webhookSecretFile: secretFile(),
      agentSecretFile: agentSecretFile(),
      flags: ['--poll', '1s', '--reconcile', '1s', '--heartbeat-timeout', '3s', '--push-timeout', '5s', '--concurrency', '4'],
    });
    controller = proc;
  };

  const startAgent = async (r: ReplicaRig) => {
    const { proc } = await startAgentProcess({
      shard: r.shard,
      replica: r.replica,
      port: r.port,
      prometheusUrl: r.prometheus.url,
      configFile: r.configFile,
      stateDir: r.stateDir,
      tokenFile: writeAgentCredential(root, AGENT_SECRET, r.shard, r.replica),
      adminTokenSha256File: writeAdminDigest(root, TOKEN),
      controllerUrl,
      advertiseUrl: r.proxy?.url,
      flags: ['--pull-interval', '2s', '--heartbeat-interval', '1s', '--probe-interval', '500ms', '--reload-timeout', '5s', '--promtool-syntax-only'],
    });
    r.agent = proc;
  };

  const notify = async () => {
    const raw = JSON.stringify({ ref: 'refs/heads/main' });
    try {
      const res = await fetch(`${controllerUrl}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(raw, SECRET) }, body: raw, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
    } catch {
      /* controller down: its poll finds the commit */
    }
  };

  const commitValid = async (change: (m: RepoModel) => void, message: string) => {
    const next = structuredClone(model);
    change(next);
    const files = repoFiles(next);
    const rendered = render(files);
    assert.ok(rendered, why(`test bug: the valid change "${message}" does not compile`));
    // Allowed before the commit exists, so that no sampler can see it first.
    for (const s of SHARDS) {
      allowedBytes[s].add(rendered[s]);
      allowedMeaning[s].add(configKey(rendered[s]));
    }
    for (const s of SHARDS) repo.remove(`teams/${TEAM[s]}/dup.yaml`);
    for (const [p, c] of Object.entries(files)) repo.write(p, c);
    const sha = repo.commit(message);
    model = next;
    lastValid = { sha, rendered };
    note(`commit valid ${sha.slice(0, 8)}: ${message}`);
    await notify();
  };

  const commitInvalid = async (kind: Fault, shard: Shard) => {
    const files = repoFiles(model, { kind, shard });
    assert.equal(render(files), null, why(`test bug: the invalid commit (${kind} on ${shard}) compiles`));
    for (const [p, c] of Object.entries(files)) repo.write(p, c);
    const sha = repo.commit(`invalid: ${kind} on ${shard}`);
    note(`commit INVALID ${sha.slice(0, 8)}: ${kind} on ${shard}`);
    // The next commit starts from the model again (the faulty extra file goes).
    if (kind === 'duplicate-job') for (const s of SHARDS) repo.remove(`teams/${TEAM[s]}/dup.yaml`);
    await notify();
  };

  const sampleOnce = async () => {
    await Promise.all(
      rigs.map(async (r) => {
        const where = `${r.shard}/${r.replica}`;
        let text: string | null = null;
        try {
          text = readFileSync(r.configFile, 'utf8');
        } catch (err) {
          violations.push(`${where}: config file unreadable: ${(err as Error).message}`);
        }
        if (text !== null) {
          samples.files++;
          if (!allowedBytes[r.shard].has(text)) violations.push(`${where}: config file on disk is not a rendered valid revision (${text.length} bytes): ${JSON.stringify(text.slice(0, 200))}`);
        }
        try {
          const res = await fetch(`${r.prometheus.url}/api/v1/status/config`, { signal: AbortSignal.timeout(1000) });
          if (!res.ok) return void (await res.arrayBuffer());
          const yaml = ((await res.json()) as { data: { yaml: string } }).data.yaml;
          samples.loaded++;
          const key = configKey(yaml);
          if (!allowedMeaning[r.shard].has(key)) violations.push(`${where}: Prometheus runs a configuration that is no rendered valid revision: ${key.slice(0, 300)}`);
        } catch {
          /* Prometheus stopped on purpose */
        }
      }),
    );
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'promshard-faults-'));
    writeSecret(root, 'token', TOKEN);
    writeSecret(root, 'secret', SECRET);
    writeSecret(root, 'agent-secret', AGENT_SECRET);
    model = {
      networking: [
        { name: 'routers', ports: [BASE_PORT.networking + 1, BASE_PORT.networking + 2], interval: '15s' },
        { name: 'switches', ports: [BASE_PORT.networking + 101], interval: '30s' },
      ],
      storage: [{ name: 'ceph', ports: [BASE_PORT.storage + 1], interval: '15s' }],
    };
    const files = repoFiles(model);
    const rendered = render(files)!;
    for (const s of SHARDS) {
      allowedBytes[s].add(rendered[s]);
      allowedMeaning[s].add(configKey(rendered[s]));
    }
    repo = createGitRepo(files);
    lastValid = { sha: repo.git('rev-parse', 'HEAD'), rendered };

    controllerPort = await stablePort();
    controllerUrl = `http://127.0.0.1:${controllerPort}`;
    for (const shard of SHARDS) {
      for (const replica of REPLICAS) {
        const dir = join(root, `${shard}-${replica}`);
        mkdirSync(dir, { recursive: true });
        const configFile = join(dir, 'prometheus.yml');
        writeFileSync(configFile, BOOTSTRAP);
        const prometheus = await startPrometheus({ configFile, dir });
        const port = await stablePort();
        const proxy = shard === 'networking' && replica === 'b' ? await startTcpProxy({ port }) : null;
        rigs.push({ shard, replica, dir, configFile, stateDir: join(dir, 'agent-state'), port, prometheus, prometheusUp: true, agent: null, proxy });
      }
    }
    await Promise.all([startController(), ...rigs.map(startAgent)]);
    sampling = true;
    sampler = (async () => {
      while (sampling) {
        await sampleOnce();
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    })();
    await waitConverged(20_000, 'initial rollout');
  });

  after(async () => {
    sampling = false;
    await sampler?.catch(() => undefined);
    await killAllChildren();
    await Promise.all(rigs.map(async (r) => {
      await r.proxy?.close();
      await r.prometheus.stop().catch(() => undefined);
    }));
    repo?.destroy();
    if (root && existsSync(root)) rmSync(root, { recursive: true, force: true });
  });

  async function fleetState(): Promise<{ ok: boolean; problems: string[] }> {
    const problems: string[] = [];
    const want = lastValid!;
    const wantHash = (s: Shard) => buildShardDocuments(compileFiles(repoFiles(model)).model!, { revision: 'x', generation: 0, committedAt: '' }).get(s)!.hash;
    let shardsView: any = null;
    try {
      const res = await fetch(`${controllerUrl}/v1/shards`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2000) });
      shardsView = await res.json();
    } catch (err) {
      problems.push(`controller: ${(err as Error).message}`);
    }
    for (const r of rigs) {
      const where = `${r.shard}/${r.replica}`;
      const disk = readFileSync(r.configFile, 'utf8');
      if (disk !== want.rendered[r.shard]) problems.push(`${where}: file on disk is not the last valid commit's rendering`);
      try {
        const res = await fetch(`${r.prometheus.url}/api/v1/status/config`, { signal: AbortSignal.timeout(2000) });
        const yaml = ((await res.json()) as { data: { yaml: string } }).data.yaml;
        if (configKey(yaml) !== configKey(want.rendered[r.shard])) problems.push(`${where}: Prometheus does not run the last valid commit`);
      } catch (err) {
        problems.push(`${where}: Prometheus: ${(err as Error).message}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${r.port}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(2000) });
        const st = (await res.json()) as any;
        if (st.applied?.hash !== wantHash(r.shard) || !st.applied?.verified) problems.push(`${where}: agent reports ${JSON.stringify(st.applied)}`);
      } catch (err) {
        problems.push(`${where}: agent: ${(err as Error).message}`);
      }
      const view = shardsView?.shards?.find((s: any) => s.name === r.shard);
      const rep = view?.replicas?.find((x: any) => x.replica === r.replica);
      if (view?.desired?.hash !== wantHash(r.shard)) problems.push(`${where}: controller desires ${view?.desired?.revision?.slice(0, 8)} / ${view?.desired?.hash?.slice(0, 8)}`);
      if (rep?.state !== 'in-sync' || rep?.applied?.hash !== wantHash(r.shard)) problems.push(`${where}: controller reports ${rep?.state} ${rep?.applied?.hash?.slice(0, 8)}`);
    }
    return { ok: problems.length === 0, problems };
  }

  async function waitConverged(boundMs: number, what: string): Promise<number> {
    const started = Date.now();
    let last: string[] = [];
    while (Date.now() - started < boundMs) {
      const s = await fleetState();
      if (s.ok) return Date.now() - started;
      last = s.problems;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(why(`${what}: not converged within ${boundMs} ms:\n  ${last.join('\n  ')}\njournal:\n  ${journal.join('\n  ')}`));
  }

  it(`survives ${STEPS} random steps of commits and faults, then converges within ${CONVERGENCE_BOUND_MS / 1000} s`, { timeout: 240_000 }, async () => {
    const nextPorts = (s: Shard, j: number) => {
      const n = rng.int(1, 3);
      const base = BASE_PORT[s] + j * 100;
      return [...new Set(Array.from({ length: n }, () => base + rng.int(1, 40)))].sort((a, b) => a - b);
    };
    const validChange = async () => {
      const which = rng.pick(['networking', 'storage', 'both'] as const);
      const shards: Shard[] = which === 'both' ? [...SHARDS] : [which];
      await commitValid((m) => {
        for (const s of shards) {
          const j = rng.int(0, m[s].length - 1);
          if (rng.chance(0.6)) m[s][j].ports = nextPorts(s, j);
          else m[s][j].interval = rng.pick(INTERVALS.filter((i) => i !== m[s][j].interval));
        }
      }, `change ${which}`);
    };
    const alive = (r: ReplicaRig) => r.agent !== null && r.agent.alive();
    const proxy = rigs.find((r) => r.proxy)!.proxy!;

    for (let step = 0; step < STEPS; step++) {
      const last = step === STEPS - 1;
      const action = last ? 'final-commit' : rng.pick(['valid', 'valid', 'valid', 'invalid', 'invalid', 'kill-agent', 'restart-agent', 'stop-prometheus', 'start-prometheus', 'kill-controller', 'restart-controller', 'network'] as const);
      switch (action) {
        case 'valid':
          await validChange();
          break;
        case 'invalid':
          await commitInvalid(rng.pick(['typo', 'duplicate-job', 'bad-regex', 'timeout-over-interval'] as const), rng.pick(SHARDS));
          break;
        case 'kill-agent': {
          const r = rng.pick(rigs.filter(alive));
          if (!r) break;
          note(`kill -9 agent ${r.shard}/${r.replica}`);
          await r.agent!.kill('SIGKILL');
          break;
        }
        case 'restart-agent': {
          const down = rigs.filter((r) => !alive(r));
          if (down.length === 0) break;
          const r = rng.pick(down);
          note(`restart agent ${r.shard}/${r.replica}`);
          await startAgent(r);
          break;
        }
        case 'stop-prometheus': {
          const r = rng.pick(rigs.filter((x) => x.prometheusUp));
          if (!r) break;
          note(`stop Prometheus ${r.shard}/${r.replica}`);
          r.prometheusUp = false;
          await r.prometheus.stop();
          break;
        }
        case 'start-prometheus': {
          const down = rigs.filter((r) => !r.prometheusUp);
          if (down.length === 0) break;
          const r = rng.pick(down);
          note(`start Prometheus ${r.shard}/${r.replica}`);
          await r.prometheus.restart();
          r.prometheusUp = true;
          break;
        }
        case 'kill-controller':
          if (!controller?.alive()) break;
          note('kill -9 controller');
          await controller.kill('SIGKILL');
          break;
        case 'restart-controller':
          if (controller?.alive()) break;
          note('restart controller');
          await startController();
          break;
        case 'network': {
          const mode: ProxyMode = rng.pick<ProxyMode>([{ kind: 'delay', delayMs: rng.int(1000, 4000) }, { kind: 'refuse' }, { kind: 'blackhole' }, { kind: 'pass' }]);
          note(`network to networking/b: ${JSON.stringify(mode)}`);
          proxy.setMode(mode);
          break;
        }
        case 'final-commit':
          await commitValid((m) => {
            for (const s of SHARDS) m[s][0].ports = nextPorts(s, 0);
          }, 'final change on both shards');
          if (rng.chance(0.5)) await commitInvalid(rng.pick(['typo', 'bad-regex'] as const), rng.pick(SHARDS));
          break;
      }
      await new Promise((r) => setTimeout(r, rng.int(200, 1500)));
    }

    // Heal everything, then start the clock.
    note('heal: network passes, every Prometheus, agent and the controller runs');
    proxy.setMode({ kind: 'pass' }, { cutOpen: true });
    await Promise.all([
      ...rigs.filter((r) => !r.prometheusUp).map(async (r) => {
        await r.prometheus.restart();
        r.prometheusUp = true;
      }),
      ...rigs.filter((r) => !alive(r)).map((r) => startAgent(r)),
      controller?.alive() ? Promise.resolve() : startController(),
    ]);
    const took = await waitConverged(CONVERGENCE_BOUND_MS, 'after the faults stopped');
    note(`converged in ${took} ms`);
    sampling = false;
    await sampler;
    await sampleOnce();
    process.stdout.write(`# fault suite seed ${SEED}: converged ${took} ms after healing; ${samples.files} file samples, ${samples.loaded} loaded-config samples\n# ${journal.join('\n# ')}\n`);

    assert.deepEqual(violations.slice(0, 20), [], why(`configurations outside the rendered valid revisions were seen:\n${violations.slice(0, 20).join('\n')}\njournal:\n  ${journal.join('\n  ')}`));
    assert.ok(samples.files > 100 && samples.loaded > 50, why(`too few samples: ${JSON.stringify(samples)}`));
    // Final: byte-equal files, same meaning loaded, agents and controller agree (fleetState checks all of it).
    const final = await fleetState();
    assert.deepEqual(final.problems, [], why('final state'));
    for (const r of rigs) assert.equal(readFileSync(r.configFile, 'utf8'), lastValid!.rendered[r.shard], why(`${r.shard}/${r.replica}: file is byte-equal to the last valid rendering`));
    // The agents' revision is the newest valid commit's (the final commit changed both shards), or the
    // head after it when an invalid final commit was quarantined file by file: the bytes (checked above)
    // are then still the last valid rendering, only the revision label moves on.
    const head = repo.git('rev-parse', 'HEAD');
    for (const r of rigs) {
      const st = (await (await fetch(`http://127.0.0.1:${r.port}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as any;
      assert.ok([lastValid!.sha, head].includes(st.applied.revision), why(`${r.shard}/${r.replica} runs the newest valid revision or the quarantined head after it (runs ${st.applied.revision})`));
      // No agent process died on its own during the run.
    }
    for (const r of rigs) assert.ok(r.agent?.alive(), why(`${r.shard}/${r.replica}: agent alive at the end`));
    assert.ok(controller?.alive(), why('controller alive at the end'));
  });
});
