// Rollout Events through client-node against the test API server: created on the shard's
// StatefulSet with MicroTime eventTime, aggregated (same reason + object within the window updates the
// count and series), rate-limited per object, and a 403 never throws into the rollout.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { createLogger } from '../../core/log/logger.ts';
import { KubeEventRecorder, kubernetesEventSink } from '../../central-controller/kubernetes/events.ts';

const T = '(test API server at the HTTP level; no cluster here)';
let server: KubeApiServer;
let dir: string;

before(async () => {
  server = await startKubeApiServer();
  dir = mkdtempSync(join(tmpdir(), 'leader-events-'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function recorder(token: string, o: { burst?: number; logs?: string[]; dropped?: () => void } = {}): Promise<KubeEventRecorder> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(writeKubeconfig(server, dir, { token, namespace: 'fleet' }));
  return new KubeEventRecorder({
    sink: await kubernetesEventSink(kc),
    instance: 'controller-0',
    log: createLogger({ component: 'events', write: (l) => o.logs?.push(l) }),
    burst: o.burst,
    onDropped: o.dropped,
    objectFor: (shard) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'fleet', name: `prometheus-${shard}` }),
  });
}

const eventsOn = (name: string) => server.events().filter((e) => e.involvedObject?.name === name);

test(`Events land on the shard's StatefulSet with MicroTime; a repeat is aggregated into count/series; another reason is its own Event ${T}`, async () => {
  const r = await recorder('events-a');
  r.record({ shard: 'networking', reason: 'RolloutFinished', type: 'Normal', message: 'revision abc (generation 3, term 2) rolled out: 2/2 replicas run it' });
  await r.idle();
  const [first] = eventsOn('prometheus-networking');
  assert.ok(first, 'an Event was created');
  assert.deepEqual(first.involvedObject, { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'fleet', name: 'prometheus-networking' });
  assert.equal(first.reason, 'RolloutFinished');
  assert.equal(first.type, 'Normal');
  assert.equal(first.count, 1);
  assert.match(first.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.equal(first.reportingComponent, 'promshard-controller');
  assert.equal(first.reportingInstance, 'controller-0');
  assert.match(first.metadata.name, /^prometheus-networking\./);

  r.record({ shard: 'networking', reason: 'RolloutFinished', type: 'Normal', message: 'revision def (generation 4, term 2) rolled out: 2/2 replicas run it' });
  await r.idle();
  const after2 = eventsOn('prometheus-networking');
  assert.equal(after2.length, 1, 'aggregated, not a second Event');
  assert.equal(after2[0].count, 2);
  assert.equal(after2[0].series.count, 2);
  assert.match(after2[0].series.lastObservedTime, /\.\d{6}Z$/);
  assert.match(after2[0].message, /revision def/);

  r.record({ shard: 'networking', reason: 'PrometheusRefused', type: 'Warning', message: 'revision 0ab halted at replica a: Prometheus refused the configuration' });
  await r.idle();
  assert.deepEqual(eventsOn('prometheus-networking').map((e) => `${e.reason}:${e.count}`).sort(), ['PrometheusRefused:1', 'RolloutFinished:2']);
});

test(`a burst past the per-object limit is dropped and counted ${T}`, async () => {
  let dropped = 0;
  const r = await recorder('events-b', { burst: 3, dropped: () => dropped++ });
  for (let i = 0; i < 10; i++) r.record({ shard: 'storage', reason: 'RolloutHalted', type: 'Warning', message: `halt ${i}` });
  await r.idle();
  const ev = eventsOn('prometheus-storage');
  assert.equal(ev.length, 1);
  assert.equal(ev[0].count, 3, 'three sent (one created, two aggregated), seven dropped');
  assert.equal(dropped, 7);
});

test(`RBAC 403 on Events is logged once and never throws ${T}`, async () => {
  const logs: string[] = [];
  server.forbid('events', 'events-c');
  const r = await recorder('events-c', { logs });
  for (let i = 0; i < 3; i++) r.record({ shard: 'web', reason: 'RolloutFinished', type: 'Normal', message: `done ${i}` });
  await r.idle();
  await waitFor('logged', () => logs.length > 0);
  const warnings = logs.filter((l) => l.includes('recording a Kubernetes Event failed'));
  assert.equal(warnings.length, 1, 'the same error is logged once');
  assert.match(warnings[0]!, /HTTP 403.*events is forbidden.*RBAC/);
  assert.equal(eventsOn('prometheus-web').length, 0);
});
