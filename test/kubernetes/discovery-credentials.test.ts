// Discovered agents get their own credentials (derived from --agent-secret-file for the shard and the
// replica read from the pod), the CLI refuses inconsistent discovery flags, and a watch the server ends
// after timeoutSeconds is resumed without a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveAgentToken } from '../../core/http/agent-credential.ts';
import { run as runController } from '../../central-controller/controller-command.ts';
import { loadKubeConfig } from '../../central-controller/kubernetes/kube-config.ts';
import { PodWatch } from '../../central-controller/kubernetes/pod-watch.ts';
import { api, GitRepo, launchController, newControllerPort, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, waitFor } from '../controller/helpers.ts';
import { writeSecret } from '../support/fleet.ts';
import { podManifest, startKubeApiServer, writeKubeconfig } from '../support/kube-api-server.ts';

const T = '(test API server at the HTTP level; no cluster here)';

test(`a discovered agent is called with its own credential, derived for the shard and the replica its pod names ${T}`, async () => {
  const server = await startKubeApiServer();
  const dir = tempDir('promshard-kube-cred-');
  const repo = new GitRepo();
  const sha = repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
  const agentSecret = 'agent-secret-for-discovery-tests-3f9a1c';
  // The agent accepts only its own credential (and not the admin token): a push with any other fails.
  const replica = await startReplica('networking', '0', undefined, [], { token: deriveAgentToken(agentSecret, { shard: 'networking', replica: '0' }) });
  const controller = await launchController(repo, join(dir, 'state'), await newControllerPort(), {
    agentSecret,
    kubernetes: { kubeconfig: writeKubeconfig(server, dir, { token: 'controller', namespace: 'fleet' }), namespaces: ['fleet', 'edge'] },
  });
  try {
    const u = new URL(replica.agent.url);
    server.addPod(podManifest({ namespace: 'fleet', name: 'prometheus-networking-0', labels: { 'promshard.io/shard': 'networking' }, ip: u.hostname, port: Number(u.port) }));
    await waitFor('the discovered agent runs the revision', () => replica.agent.status().applied?.revision === sha && replica.agent.status().applied?.verified, 15_000);
    // A second --namespace is watched on its own.
    server.addPod(podManifest({ namespace: 'edge', name: 'prometheus-storage-1', labels: { 'promshard.io/shard': 'storage' }, ip: '127.0.0.1', port: 1 }));
    const k = await waitFor('both namespaces watched', async () => {
      const body = (await api(controller.url, '/v1/kubernetes')).body;
      return body.agents.some((a: any) => a.pod === 'edge/prometheus-storage-1') ? body : null;
    });
    assert.deepEqual(k.namespaces.map((n: any) => [n.namespace, n.ok, n.pods]), [['fleet', true, 1], ['edge', true, 1]]);
  } finally {
    await controller.close();
    await stopReplica(replica);
    await server.close();
    repo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('promshard controller refuses discovery flags that cannot work, before starting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-kube-flags-'));
  const base = ['--repo', dir, '--state-dir', join(dir, 'state'), '--token-file', writeSecret(dir, 't', 'admin-token-0123456789'), '--webhook-secret-file', writeSecret(dir, 'w', 'webhook-secret-0123456789')];
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (stderr.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    assert.equal(await runController([...base, '--namespace', 'fleet']), 2);
    assert.match(stderr.join(''), /--namespace and --agent-selector need --kubernetes/);
    assert.equal(await runController([...base, '--kubernetes', '--kubernetes-watch-timeout', '60s', '--kubernetes-watch-silence', '30s']), 2);
    assert.match(stderr.join(''), /--kubernetes-watch-silence must be longer than --kubernetes-watch-timeout/);
  } finally {
    process.stderr.write = write;
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`a watch the server ends after timeoutSeconds is resumed from its resourceVersion: no restart, no relist, nothing missed ${T}`, async () => {
  const server = await startKubeApiServer({ bookmarkIntervalMs: 60_000 });
  const dir = mkdtempSync(join(tmpdir(), 'pod-watch-timeout-'));
  const { k8s, kc } = await loadKubeConfig({ kubeconfig: writeKubeconfig(server, dir, { token: 'w', namespace: 'ns' }) });
  const seen: string[] = [];
  const restarts: string[] = [];
  const w = new PodWatch({ k8s, kc, namespace: 'ns', labelSelector: 'promshard.io/shard', watchTimeoutSeconds: 1, silenceMs: 5000, onUpsert: (p) => seen.push(p.metadata!.name!), onDelete: () => undefined, onRestart: (r) => restarts.push(r) });
  const pod = (name: string) => podManifest({ namespace: 'ns', name, labels: { 'promshard.io/shard': 'web' } });
  try {
    w.start();
    await w.firstList;
    await new Promise((r) => setTimeout(r, 2500)); // two server-side ends
    server.addPod(pod('web-0'));
    await waitFor('event after the resumed watches', () => seen.includes('web-0'), 5000);
    const watches = server.requests.filter((r) => r.path.includes('watch=true')).length;
    assert.ok(watches >= 3, `${watches} watches`);
    assert.equal(server.requests.filter((r) => !r.path.includes('watch=true')).length, 1, 'listed once');
    assert.deepEqual(restarts, []);
  } finally {
    await w.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
