// The leader's rollout Events end to end (test API server at the HTTP level; no cluster here): a
// leader-elected controller with real agents and real Prometheus records RolloutFinished on the shard's
// StatefulSet when a revision rolls out, PrometheusRefused when a replica's Prometheus refuses its
// reload (the rollout halts), and RolloutFinished again (aggregated into the same Event) once it
// converges; all through client-node, times as MicroTime.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api-server.ts';
import { PROMETHEUS_BIN, prometheusInstalled, waitForReady } from '../support/prometheus.ts';
import { allOnRevision, GitRepo, launchController, newControllerPort, SHARDS_YAML, startReplica, stopReplica, teamFile, waitFor, webhook, type Replica } from '../controller/helpers.ts';
import { kubernetesLeaseStore } from '../../central-controller/kubernetes/leader-election.ts';
import { kubernetesEventSink } from '../../central-controller/kubernetes/events.ts';
import type { RunningController } from '../../central-controller/start-controller.ts';

const T = '(test API server at the HTTP level; no cluster here)';

describe(`rollout Events on the shard's StatefulSet ${T}`, { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let api: KubeApiServer;
  let repo: GitRepo;
  let controller: RunningController;
  let net: Replica[] = [];
  let refusing: ChildProcess | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'promshard-events-rollout-'));
  after(async () => {
    refusing?.kill('SIGKILL');
    await controller?.close();
    await Promise.all(net.map(stopReplica));
    await api?.close();
    repo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const events = () => api.events().filter((e) => e.involvedObject?.kind === 'StatefulSet' && e.involvedObject.name === 'prometheus-networking');

  it('finished, refused by Prometheus (halted), finished again', async () => {
    api = await startKubeApiServer();
    repo = new GitRepo();
    const first = repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    net = [await startReplica('networking', 'a', undefined), await startReplica('networking', 'b', undefined)];
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(writeKubeconfig(api, dir, { token: 'events-rollout', namespace: 'fleet' }));
    controller = await launchController(repo, join(dir, 'state'), await newControllerPort(), {
      pollMs: 0,
      reconcileMs: 300,
      heartbeatTimeoutMs: 60_000,
      agents: net.map((r) => ({ shard: r.shard, replica: r.replica, url: r.agent.url })),
      leaderElection: { store: await kubernetesLeaseStore(kc, 'fleet', 'promshard-controller'), identity: 'ctl-events', leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 },
      kubernetesEvents: { sink: await kubernetesEventSink(kc), namespace: 'fleet' },
    });
    await waitFor('initial rollout', () => allOnRevision(net, first), 20_000);
    const done = await waitFor('a RolloutFinished Event', () => events().find((e) => e.reason === 'RolloutFinished'));
    assert.equal(done.type, 'Normal');
    assert.equal(done.involvedObject.namespace, 'fleet');
    assert.equal(done.involvedObject.apiVersion, 'apps/v1');
    assert.match(done.message, new RegExp(`^revision ${first.slice(0, 12)} \\(generation \\d+, term 1\\) rolled out: 2/2 replicas run it$`));
    assert.match(done.eventTime, /\.\d{6}Z$/);
    assert.equal(done.reportingInstance, 'ctl-events');

    // Replica a's Prometheus without --web.enable-lifecycle: its reload is refused (403), the agent rolls back.
    const a = net[0]!;
    await a.prometheus.stop();
    refusing = spawn(PROMETHEUS_BIN, [`--config.file=${a.configFile}`, `--web.listen-address=127.0.0.1:${a.prometheus.port}`, `--storage.tsdb.path=${join(a.prometheus.dir, 'data')}`, '--log.level=warn'], { stdio: 'ignore' });
    await waitForReady(a.prometheus.url);
    const second = repo.commit({ 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101', '127.0.0.1:9102'] }) });
    assert.equal(await webhook(controller.url), 202);
    const refused = await waitFor('a PrometheusRefused Event', () => events().find((e) => e.reason === 'PrometheusRefused'), 20_000);
    assert.equal(refused.type, 'Warning');
    assert.match(refused.message, new RegExp(`^revision ${second.slice(0, 12)} \\(generation \\d+, term 1\\) halted at replica a: Prometheus refused the configuration and the agent restored the previous one: .+; 0/2 replicas run it, the rest keep their configuration$`));
    // The refusal is retried with backoff: repeats update the same Event instead of adding one.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(events().filter((e) => e.reason === 'PrometheusRefused').length, 1);

    const exited = new Promise((r) => refusing!.once('exit', r));
    refusing.kill('SIGTERM');
    await exited;
    refusing = null;
    await a.prometheus.restart();
    await waitFor('both on the second revision', () => allOnRevision(net, second), 30_000);
    const finished = await waitFor('RolloutFinished for the second revision', () => events().find((e) => e.reason === 'RolloutFinished' && e.message.includes(second.slice(0, 12))), 10_000);
    assert.equal(finished.count, 2, 'aggregated with the first RolloutFinished (same reason, same StatefulSet, within the window)');
    assert.equal(finished.series.count, 2);
    assert.equal(events().filter((e) => e.reason === 'RolloutFinished').length, 1);
  });
});
