// Kubernetes agent discovery end to end: a real controller (in-process) finds real agents, each beside
// a real Prometheus, through Pods served by the test API server (HTTPS, spoken to by client-node
// itself); no cluster can run here. Pod churn, readiness, a silent watch, 410 Gone, a connection
// reset and an RBAC 403 are driven from the API server's side.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { api, GitRepo, launchController, metricValue, newControllerPort, SHARDS_YAML, startReplica, stopReplica, teamFile, tempDir, TOKEN, waitFor, webhook, type Replica } from '../controller/helpers.ts';
import { podManifest, startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api-server.ts';

const NS = 'fleet';
const T = '(test API server at the HTTP level; no cluster here)';

/** A fresh agent (empty state: runs no document) for an existing replica's Prometheus, on `host`. */
function freshAgent(r: Replica, host: string, port = 0): Promise<RunningAgent> {
  return startAgent({
    shard: r.shard,
    replica: r.replica,
    listen: `${host}:${port}`,
    prometheusUrl: r.prometheus.url,
    configFile: r.configFile,
    stateDir: mkdtempSync(join(r.dir, 'agent-state-')),
    token: TOKEN,
    heartbeatMs: 500,
    backoffBaseMs: 100,
    backoffMaxMs: 1000,
    probeIntervalMs: 500,
    reloadTimeoutMs: 5000,
    defaultMetrics: false,
    logWrite: () => undefined,
  });
}

const portOf = (url: string) => Number(new URL(url).port);
const hostOf = (url: string) => new URL(url).hostname;

function pod(name: string, agentUrl: string, ready = true, labels: Record<string, string> = {}) {
  return podManifest({ namespace: NS, name, labels: { 'promshard.io/shard': 'networking', app: 'prometheus', ...labels }, ip: hostOf(agentUrl), port: portOf(agentUrl), ready });
}

describe(`Kubernetes agent discovery ${T}`, () => {
  let server: KubeApiServer;
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let kubeDir: string;
  let r0: Replica;
  let r1: Replica;
  const extraAgents: RunningAgent[] = [];
  const logs: string[] = [];
  let rev: string;

  const onRevision = (agent: RunningAgent, sha: string) => agent.status().applied?.revision === sha && agent.status().applied?.verified;
  const kube = async () => (await api(controller.url, '/v1/kubernetes')).body;
  const agentsOf = async () => ((await kube()).agents as { replica: string; url: string; ready: boolean }[]).map((a) => `${a.replica}@${a.url}${a.ready ? '' : ' (not ready)'}`).sort();

  before(async () => {
    server = await startKubeApiServer({ bookmarkIntervalMs: 300 });
    kubeDir = tempDir('promshard-kube-');
    repo = new GitRepo();
    rev = repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    stateDir = tempDir('promshard-ctl-state-');
    // No controller URL: these agents do not register themselves; only the pods make them known.
    [r0, r1] = await Promise.all([startReplica('networking', '0', undefined, logs), startReplica('networking', '1', undefined, logs, { listen: '127.0.0.2:0' })]);
    const port = await newControllerPort();
    controller = await launchController(repo, stateDir, port, {
      pollMs: 60_000,
      kubernetes: {
        kubeconfig: writeKubeconfig(server, kubeDir, { token: 'controller-1', namespace: NS }),
        namespaces: [NS],
        agentSelector: 'app=prometheus',
        watchTimeoutSeconds: 30,
        silenceMs: 2000,
        backoffBaseMs: 100,
        backoffMaxMs: 800,
      },
    }, logs);
  });

  after(async () => {
    await controller?.close();
    await Promise.all(extraAgents.map((a) => a.close().catch(() => undefined)));
    await Promise.all([r0, r1].filter(Boolean).map(stopReplica));
    await server?.close();
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(kubeDir, { recursive: true, force: true });
  });

  it(`a Ready pod's agent gets the desired document; a pod that is not Ready is not an agent until it is ${T}`, async () => {
    server.addPod(pod('networking-0', r0.agent.url));
    server.addPod(pod('networking-1', r1.agent.url, false));
    server.addPod(podManifest({ namespace: NS, name: 'unrelated-0', labels: { app: 'prometheus' }, ip: '127.0.0.9' }));
    await waitFor('replica 0 runs the revision', () => onRevision(r0.agent, rev), 15_000);
    assert.deepEqual(await agentsOf(), [`0@${r0.agent.url}`]);
    assert.equal(r1.agent.status().applied, null, 'nothing is pushed to a pod that is not Ready');
    server.setPodReady(NS, 'networking-1', true);
    await waitFor('replica 1 runs the revision once Ready', () => onRevision(r1.agent, rev), 15_000);
    assert.deepEqual(await agentsOf(), [`0@${r0.agent.url}`, `1@${r1.agent.url}`]);
    assert.equal(await metricValue(controller.url, 'promshard_controller_kubernetes_pods_discovered', { ready: 'true' }), 2);
  });

  it(`a pod that stops being Ready stays known as unreachable and gets nothing; Ready again, it catches up ${T}`, async () => {
    server.setPodReady(NS, 'networking-1', false);
    await waitFor('replica 1 unreachable', async () => {
      const { body } = await api(controller.url, '/v1/shards/networking');
      const r = body.replicas.find((x: any) => x.replica === '1');
      return r?.state === 'unreachable' && /Kubernetes: pod is not Ready/.test(r.reason ?? '') ? r : null;
    });
    const next = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9102'] }) });
    assert.equal(await webhook(controller.url), 202);
    await waitFor('replica 0 on the new revision', () => onRevision(r0.agent, next), 15_000);
    await new Promise((r) => setTimeout(r, 1500)); // its heartbeats keep coming: they must not make it a push target
    assert.equal(r1.agent.status().applied?.revision, rev, 'a pod that is not Ready is not pushed to');
    // Its agent still answers the reconciler's status polls: that must not read as "reachable again"
    // on the timeline at every poll.
    const events = (await api(controller.url, '/v1/events?limit=500')).body.events as any[];
    assert.deepEqual(events.filter((e) => e.type === 'agent-reachable' && e.replica === '1').map((e) => e.message), []);
    server.setPodReady(NS, 'networking-1', true);
    await waitFor('replica 1 catches up once Ready', () => onRevision(r1.agent, next), 15_000);
    rev = next;
  });

  it(`pod churn: a deleted pod is dropped; a new pod for a known replica and a changed IP get the document at once ${T}`, async () => {
    // Deleted: the agent is forgotten (not just unreachable).
    server.deletePod(NS, 'networking-1');
    await waitFor('replica 1 dropped', async () => ((await api(controller.url, '/v1/shards/networking')).body.replicas.map((x: any) => x.replica).join() === '0'));
    // A new pod for replica 1 (a StatefulSet recreating it): a fresh agent that runs nothing yet.
    await r1.agent.close();
    const fresh = await freshAgent(r1, '127.0.0.2');
    extraAgents.push(fresh);
    server.addPod(pod('networking-1', fresh.url));
    await waitFor('the new pod runs the revision', () => onRevision(fresh, rev), 10_000);
    // Its IP changes (the pod was rescheduled): the agent now answers at 127.0.0.3, same port.
    const moved = await freshAgent(r1, '127.0.0.3', portOf(fresh.url));
    extraAgents.push(moved);
    server.setPodIp(NS, 'networking-1', '127.0.0.3');
    await waitFor('the agent at the new address runs the revision', () => onRevision(moved, rev), 10_000);
    assert.deepEqual(await agentsOf(), [`0@${r0.agent.url}`, `1@${moved.url}`]);
    await fresh.close();
  });

  it(`a watch that goes silent without closing is replaced by the watchdog, and nothing is missed ${T}`, async () => {
    const before = await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'watchdog' });
    server.silenceWatches();
    // Missed by the silent watch: only a relist can find it.
    server.setPodReady(NS, 'networking-0', false);
    await waitFor('relist after the silence bound sees the change', async () => (await agentsOf()).includes(`0@${r0.agent.url} (not ready)`), 10_000);
    assert.ok((await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'watchdog' })) > before);
    server.setPodReady(NS, 'networking-0', true);
    await waitFor('watching again', async () => (await agentsOf()).includes(`0@${r0.agent.url}`));
    const age = await metricValue(controller.url, 'promshard_controller_kubernetes_watch_last_event_age_seconds', { namespace: NS });
    assert.ok(age < 2, `last event age ${age}`);
  });

  it(`410 Gone after a partition: relisted without losing or duplicating pods; a connection reset mid-watch resumes ${T}`, async () => {
    const registered = async () => ((await api(controller.url, '/v1/events?limit=500')).body.events as any[]).filter((e) => e.type === 'agent-registered').length;
    const registeredBefore = await registered();
    const goneBefore = await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'gone' });
    server.partition('controller-1', 'refuse'); // cuts the open watch (a reset) and refuses the retries
    const spare = await freshAgent(r1, '127.0.0.4');
    extraAgents.push(spare);
    server.deletePod(NS, 'networking-1');
    server.addPod(pod('networking-2', spare.url));
    server.expireWatches(); // compaction: the controller's resourceVersion is now too old
    await new Promise((r) => setTimeout(r, 300));
    server.heal('controller-1');
    await waitFor('relisted: replica 1 gone, replica 2 found', async () => (await agentsOf()).join() === [`0@${r0.agent.url}`, `2@${spare.url}`].join(), 10_000);
    assert.ok((await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'gone' })) > goneBefore);
    assert.equal(await registered(), registeredBefore + 1, 'only the new pod is announced: the unchanged one is not added twice');
    await waitFor('replica 2 runs the revision', () => onRevision(spare, rev), 10_000);

    // A reset alone: the watch resumes from where it was (no relist needed) and sees what follows.
    const errorsBefore = await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'error' });
    server.resetWatches();
    server.modifyPod(NS, 'networking-2', (p) => { p.metadata.labels['promshard.io/replica'] = 'b'; });
    await waitFor('the relabelled pod seen after the reset', async () => (await agentsOf()).join() === [`0@${r0.agent.url}`, `b@${spare.url}`].join(), 10_000);
    assert.ok((await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'error' })) >= errorsBefore);
  });

  it(`RBAC: a 403 shows as a clear error in /v1/kubernetes, /healthz and metrics, retried with backoff, never a crash ${T}`, async () => {
    server.forbid('pods', 'controller-1');
    server.resetWatches();
    const k = await waitFor('discovery reports the 403', async () => {
      const s = await kube();
      return s.ok === false && /403/.test(s.error) && /cannot/.test(s.error) ? s : null;
    }, 10_000);
    assert.match(k.error, /403 Forbidden/);
    assert.match(k.error, /cannot (list|watch) resource "pods"/);
    assert.match(k.error, /RBAC/);
    const health = await api(controller.url, '/healthz', null);
    assert.equal(health.status, 200, 'a 403 must not fail the liveness probe (that would crash-loop the controller)');
    assert.equal(health.body.detail.kubernetes.ok, false);
    assert.equal(await metricValue(controller.url, 'promshard_controller_kubernetes_discovery_up', { namespace: NS }), 0);
    const page = await api(controller.url, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /id="kubernetes-banner"[^>]*><strong>Kubernetes agent discovery is failing<\/strong> \(retrying\): (<bdi>)?Kubernetes API refused \(403 Forbidden\)/, 'the dashboard says so');
    const f1 = await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'forbidden' });
    await new Promise((r) => setTimeout(r, 2000));
    const f2 = await metricValue(controller.url, 'promshard_controller_kubernetes_watch_restarts_total', { reason: 'forbidden' });
    assert.ok(f2 > f1 && f2 - f1 < 12, `retried with backoff (${f2 - f1} retries in 2 s)`);
    assert.ok(logs.some((l) => l.includes('403 Forbidden')), 'logged');
    // Known agents stay known (and keep their documents) while the API refuses.
    assert.ok((await agentsOf()).includes(`0@${r0.agent.url}`));
    server.allow('pods', 'controller-1');
    await waitFor('recovers once allowed', async () => (await kube()).ok === true, 10_000);
    assert.doesNotMatch((await api(controller.url, '/')).body, /kubernetes-banner/);
    assert.equal(await metricValue(controller.url, 'promshard_controller_kubernetes_discovery_up', { namespace: NS }), 1);
  });
});
