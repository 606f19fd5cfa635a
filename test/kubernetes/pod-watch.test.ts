// The pieces of Kubernetes discovery on their own: what a Pod says about its agent, where the
// kubeconfig comes from, and the list/watch loop's paging and 410 relist diff (against the test API
// server through client-node).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { podAgent } from '../../central-controller/kubernetes/pod-agent.ts';
import { loadKubeConfig } from '../../central-controller/kubernetes/kube-config.ts';
import { PodWatch } from '../../central-controller/kubernetes/pod-watch.ts';
import { podManifest, startKubeApiServer, writeKubeconfig } from '../support/kube-api-server.ts';
import { waitFor } from '../support/wait-for.ts';

const T = '(test API server at the HTTP level; no cluster here)';
const shardPod = (name: string, labels: Record<string, string> = {}, o: { ip?: string | null; ready?: boolean; portName?: string } = {}) =>
  podManifest({ namespace: 'ns', name, labels: { 'promshard.io/shard': 'web', ...labels }, ip: o.ip, port: 9464, ready: o.ready, portName: o.portName }) as V1Pod;

test('a pod names its agent: replica from the label, the pod index or the StatefulSet ordinal; URL from the IP and the promshard-agent port', () => {
  assert.deepEqual(podAgent(shardPod('prometheus-web-3', {}, { ip: '10.0.0.7' })), { pod: 'ns/prometheus-web-3', uid: '', shard: 'web', replica: '3', url: 'http://10.0.0.7:9464', ready: true, notReady: null });
  assert.equal((podAgent(shardPod('prometheus-web-3', { 'promshard.io/replica': 'a' })) as any).replica, 'a');
  assert.equal((podAgent(shardPod('web-x', { 'apps.kubernetes.io/pod-index': '5' })) as any).replica, '5');
  assert.equal((podAgent(shardPod('web-0', {}, { ip: 'fd00::5' })) as any).url, 'http://[fd00::5]:9464');
  assert.match((podAgent(shardPod('web-x')) as any).error, /ns\/web-x: no promshard.io\/replica label and its name has no StatefulSet ordinal/);
  assert.match((podAgent(shardPod('web-0', {}, { portName: 'http' })) as any).error, /ns\/web-0 has no container port named promshard-agent/);
  assert.match((podAgent(shardPod('web-0', { 'promshard.io/shard': 'bad/name' })) as any).error, /not a valid shard name/);
  const pending = podAgent(shardPod('web-0', {}, { ip: null })) as any;
  assert.equal(pending.ready, false);
  assert.equal(pending.url, null);
  assert.equal(pending.notReady, 'pod has no IP yet');
  assert.equal((podAgent(shardPod('web-0', {}, { ready: false })) as any).notReady, 'pod is not Ready');
  const terminating = shardPod('web-0');
  terminating.metadata!.deletionTimestamp = new Date();
  assert.equal((podAgent(terminating) as any).notReady, 'pod is terminating');
});

test('kubeconfig: --kubeconfig, then KUBECONFIG, then the in-cluster service account; none is a clear error', async () => {
  const server = await startKubeApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-order-'));
  try {
    const a = writeKubeconfig(server, dir, { token: 'a', namespace: 'from-flag' });
    const b = writeKubeconfig(server, dir, { token: 'b', namespace: 'from-env' });
    assert.equal((await loadKubeConfig({ kubeconfig: a, env: { KUBECONFIG: b } })).namespace, 'from-flag');
    const env = await loadKubeConfig({ env: { KUBECONFIG: b } });
    assert.equal(env.namespace, 'from-env');
    assert.equal(env.source, `KUBECONFIG ${b}`);
    await assert.rejects(loadKubeConfig({ kubeconfig: join(dir, 'missing'), env: {} }), /--kubeconfig: .*missing does not exist/);
    await assert.rejects(loadKubeConfig({ env: {} }), /no kubeconfig: give --kubeconfig FILE or set KUBECONFIG, or run in a pod with a service account token/);
    const sa = join(dir, 'root', 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), server.caPem);
    writeFileSync(join(sa, 'namespace'), 'monitoring\n');
    const inCluster = await loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, inClusterPrefix: join(dir, 'root') });
    assert.equal(inCluster.source, 'in-cluster service account');
    assert.equal(inCluster.namespace, 'monitoring');
    assert.equal(inCluster.kc.getCurrentCluster()?.name, 'inCluster');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`the pod list is paged, and a relist after 410 reports exactly what changed: no pod lost, none twice ${T}`, async () => {
  const server = await startKubeApiServer({ bookmarkIntervalMs: 200 });
  const dir = mkdtempSync(join(tmpdir(), 'pod-watch-'));
  const { k8s, kc } = await loadKubeConfig({ kubeconfig: writeKubeconfig(server, dir, { token: 'watcher', namespace: 'ns' }) });
  const seen: string[] = [];
  const restarts: string[] = [];
  for (let i = 0; i < 5; i++) server.addPod(shardPod(`web-${i}`));
  server.addPod(podManifest({ namespace: 'ns', name: 'other-0', labels: {} }));
  const w = new PodWatch({
    k8s,
    kc,
    namespace: 'ns',
    labelSelector: 'promshard.io/shard',
    pageSize: 2,
    backoffBaseMs: 50,
    backoffMaxMs: 200,
    onUpsert: (p) => seen.push(`+${p.metadata!.name}`),
    onDelete: (p) => seen.push(`-${p.metadata!.name}`),
    onRestart: (reason) => restarts.push(reason),
  });
  try {
    w.start();
    await w.firstList;
    assert.deepEqual(seen.sort(), ['+web-0', '+web-1', '+web-2', '+web-3', '+web-4']);
    const lists = () => server.requests.filter((r) => r.token === 'watcher' && !r.path.includes('watch=true') && r.path.includes('/pods')).length;
    assert.equal(lists(), 3, 'five pods in pages of two');
    await waitFor('watching', () => server.openWatches() === 1);
    seen.length = 0;
    server.partition('watcher', 'refuse');
    server.deletePod('ns', 'web-1');
    server.setPodReady('ns', 'web-2', false);
    server.addPod(shardPod('web-5'));
    server.expireWatches();
    server.heal('watcher');
    await waitFor('relisted after 410', () => restarts.includes('gone') && seen.length >= 3, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen.sort(), ['+web-2', '+web-5', '-web-1']);
    assert.equal(w.status().pods, 5);
    assert.equal(w.status().ok, true);
  } finally {
    await w.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`an API server that stops answering (requests hang) trips the list deadline and the watchdog, and discovery recovers once it answers ${T}`, async () => {
  const server = await startKubeApiServer({ bookmarkIntervalMs: 200 });
  const dir = mkdtempSync(join(tmpdir(), 'pod-watch-hang-'));
  const { k8s, kc } = await loadKubeConfig({ kubeconfig: writeKubeconfig(server, dir, { token: 'hung', namespace: 'ns' }) });
  const seen: string[] = [];
  const restarts: string[] = [];
  const w = new PodWatch({ k8s, kc, namespace: 'ns', labelSelector: 'promshard.io/shard', silenceMs: 800, listTimeoutMs: 500, backoffBaseMs: 50, backoffMaxMs: 200, onUpsert: (p) => seen.push(p.metadata!.name!), onDelete: () => undefined, onRestart: (r) => restarts.push(r) });
  try {
    w.start();
    await w.firstList;
    server.partition('hung', 'hang');
    server.addPod(shardPod('web-0'));
    await waitFor('a hung watch and a hung list both noticed', () => restarts.includes('watchdog') && restarts.includes('list-timeout'), 10_000);
    assert.equal(w.status().ok, false);
    assert.match(w.status().lastError!, /listing pods in namespace ns took longer than 500 ms/);
    server.heal('hung');
    await waitFor('the pod added meanwhile is seen', () => seen.includes('web-0'), 10_000);
    await waitFor('healthy again', () => w.status().ok);
  } finally {
    await w.stop();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
