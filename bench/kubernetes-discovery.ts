// Kubernetes discovery: a new agent pod, from the moment the API says it is Ready, until its agent runs
// (has written, reloaded and proven) the desired document. Goal < 1 s.
//
// No cluster can run here: the Pods come from the test Kubernetes API server (test/support/
// kube-api-server.ts, HTTPS, spoken to by client-node itself); the controller (in-process, --kubernetes),
// the agents and Prometheus are real. Each run starts a fresh agent (empty state: it runs nothing) beside
// one real Prometheus, publishes its pod not Ready, then flips it Ready and times until the agent proves
// the document; the pod is then deleted and the agent stopped.
//
// Run: node --import tsx bench/kubernetes-discovery.ts   (BENCH_RUNS=10)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startController } from '../central-controller/start-controller.ts';
import { startAgent } from '../shard-agent/start-agent.ts';
import { startPrometheus } from '../test/support/prometheus.ts';
import { podManifest, startKubeApiServer, writeKubeconfig } from '../test/support/kube-api-server.ts';
import { GitRepo, SHARDS_YAML, teamFile } from '../test/controller/helpers.ts';
import { waitFor } from '../test/support/wait-for.ts';

const TOKEN = 'bench-discovery-token-6d1e0c';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runKubernetesDiscoveryBench(): Promise<Record<string, number | string>> {
  const runs = Number(process.env.BENCH_RUNS ?? 10);
  const dir = mkdtempSync(join(tmpdir(), 'promshard-bench-kube-'));
  const api = await startKubeApiServer();
  const repo = new GitRepo();
  const sha = repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const prometheus = await startPrometheus({ configFile, dir });
  const controller = await startController({
    repo: repo.dir,
    stateDir: join(dir, 'controller'),
    token: TOKEN,
    webhookSecret: 'bench-webhook-secret-1',
    pollMs: 0,
    reconcileMs: 10_000,
    defaultMetrics: false,
    logWrite: () => undefined,
    kubernetes: { kubeconfig: writeKubeconfig(api, dir, { token: 'bench-controller', namespace: 'fleet' }), namespaces: ['fleet'] },
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const agent = await startAgent({
        shard: 'networking',
        replica: String(i),
        prometheusUrl: prometheus.url,
        configFile,
        stateDir: mkdtempSync(join(dir, 'agent-')),
        token: TOKEN,
        heartbeatMs: 10_000,
        defaultMetrics: false,
        cardinality: false,
        logWrite: () => undefined,
      });
      const u = new URL(agent.url);
      const name = `prometheus-networking-${i}`;
      api.addPod(podManifest({ namespace: 'fleet', name, labels: { 'promshard.io/shard': 'networking' }, ip: u.hostname, port: Number(u.port), ready: false }));
      await new Promise((r) => setTimeout(r, 300)); // the controller has seen the pod not Ready
      const t0 = performance.now();
      api.setPodReady('fleet', name, true);
      await waitFor('the new pod runs the desired document', () => agent.status().applied?.revision === sha && agent.status().applied?.verified, 20_000, 5);
      times.push(performance.now() - t0);
      api.deletePod('fleet', name);
      await agent.close();
    }
  } finally {
    await controller.close();
    await prometheus.destroy();
    await api.close();
    repo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = [...times].sort((a, b) => a - b);
  return {
    runs,
    'Ready → document proven p50 (ms)': Math.round(pct(sorted, 50)),
    'Ready → document proven max (ms)': Math.round(sorted[sorted.length - 1]!),
    'goal < 1000 ms': sorted[sorted.length - 1]! < 1000 ? 'met' : 'missed',
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(await runKubernetesDiscoveryBench());
}
