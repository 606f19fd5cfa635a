// The test API server itself, driven through @kubernetes/client-node 1.4 (as the product and the other
// Kubernetes tests use it): if these hold, the traps FIELD-NOTES lists are really there to be hit.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startKubeApiServer, writeKubeconfig, podManifest, type KubeApiServer } from '../support/kube-api-server.ts';
import { waitFor } from '../support/wait-for.ts';

let server: KubeApiServer;
let dir: string;
let kc: k8s.KubeConfig;

before(async () => {
  server = await startKubeApiServer({ bookmarkIntervalMs: 200 });
  dir = mkdtempSync(join(tmpdir(), 'kube-self-'));
  kc = new k8s.KubeConfig();
  kc.loadFromFile(writeKubeconfig(server, dir, { token: 'self-test' }));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const T = '(test API server at the HTTP level; no cluster here)';

test(`pods list: resourceVersion, items without kind, labelSelector, limit/continue ${T}`, async () => {
  for (let i = 0; i < 5; i++) server.addPod(podManifest({ namespace: 'a', name: `p-${i}`, labels: { 'promshard.io/shard': i < 4 ? 'web' : 'db' } }));
  server.addPod(podManifest({ namespace: 'a', name: 'other', labels: {} }));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const first = await core.listNamespacedPod({ namespace: 'a', labelSelector: 'promshard.io/shard', limit: 3 });
  assert.equal(first.items.length, 3);
  assert.ok(first.metadata?.resourceVersion);
  assert.ok(first.metadata?._continue);
  const raw = await fetchJson(`/api/v1/namespaces/a/pods?labelSelector=promshard.io%2Fshard%3Dweb`);
  assert.equal(raw.items.length, 4);
  assert.equal(raw.items[0].kind, undefined, 'items in a list carry no kind');
  const second = await core.listNamespacedPod({ namespace: 'a', labelSelector: 'promshard.io/shard', limit: 3, _continue: first.metadata!._continue });
  assert.deepEqual([...first.items, ...second.items].map((p) => p.metadata?.name), ['p-0', 'p-1', 'p-2', 'p-3', 'p-4']);
  assert.equal(second.metadata?._continue, undefined);
});

test(`pods watch: events, bookmarks, too-old resourceVersion answered 200 with an in-stream 410 ${T}`, async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedPod({ namespace: 'a' });
  const seen: string[] = [];
  let doneErr: unknown = 'not yet';
  const w = new k8s.Watch(kc);
  const ctl = await w.watch('/api/v1/namespaces/a/pods', { resourceVersion: list.metadata!.resourceVersion, allowWatchBookmarks: true }, (type, obj) => seen.push(`${type}:${obj.metadata?.name ?? ''}`), (err) => { doneErr = err; });
  server.addPod(podManifest({ namespace: 'a', name: 'new' }));
  server.setPodReady('a', 'new', false);
  server.deletePod('a', 'new');
  await waitFor('events and a bookmark', () => seen.includes('DELETED:new') && seen.some((s) => s.startsWith('BOOKMARK')));
  assert.deepEqual(seen.filter((s) => !s.startsWith('BOOKMARK')), ['ADDED:new', 'MODIFIED:new', 'DELETED:new']);
  server.expireWatches();
  await waitFor('watch ended', () => doneErr !== 'not yet');
  ctl.abort();
  const errors: any[] = [];
  let ended = false;
  await w.watch('/api/v1/namespaces/a/pods', { resourceVersion: list.metadata!.resourceVersion }, (type, obj) => { if (type === 'ERROR') errors.push(obj); }, () => { ended = true; });
  await waitFor('410 in-stream', () => ended && errors.length === 1);
  assert.equal(errors[0].code, 410);
});

test(`leases: create, get, replace with optimistic concurrency (409, 422), MicroTime strictness, unknown fields dropped ${T}`, async () => {
  const coord = kc.makeApiClient(k8s.CoordinationV1Api);
  const micro = (d: Date) => d.toISOString().replace('Z', '000Z');
  const created = await coord.createNamespacedLease({ namespace: 'a', body: { metadata: { name: 'ctl' }, spec: { holderIdentity: 'one', leaseDurationSeconds: 15, renewTime: new k8s.V1MicroTime(micro(new Date())) as any, ...({ term: 7 } as object) } } });
  assert.equal((created.spec as any).term, undefined, 'unknown spec fields are dropped');
  await assert.rejects(coord.createNamespacedLease({ namespace: 'a', body: { metadata: { name: 'ctl' }, spec: {} } }), (e: any) => e.code === 409);
  const got = await coord.readNamespacedLease({ namespace: 'a', name: 'ctl' });
  const upd = await coord.replaceNamespacedLease({ namespace: 'a', name: 'ctl', body: { ...got, spec: { ...got.spec, holderIdentity: 'two' } } });
  assert.equal(upd.spec?.holderIdentity, 'two');
  await assert.rejects(coord.replaceNamespacedLease({ namespace: 'a', name: 'ctl', body: { ...got, spec: { holderIdentity: 'three' } } }), (e: any) => e.code === 409 && typeof e.body === 'string' && JSON.parse(e.body).reason === 'Conflict');
  await assert.rejects(coord.replaceNamespacedLease({ namespace: 'a', name: 'ctl', body: { metadata: { name: 'ctl' }, spec: {} } }), (e: any) => e.code === 422);
  // A JavaScript Date serialises with three fractional digits: the real server refuses it.
  await assert.rejects(coord.replaceNamespacedLease({ namespace: 'a', name: 'ctl', body: { ...upd, spec: { renewTime: new Date() as any } } }), (e: any) => e.code === 400);
  await assert.rejects(coord.readNamespacedLease({ namespace: 'a', name: 'absent' }), (e: any) => e.code === 404);
  assert.equal(server.getLease('a', 'ctl')?.spec.holderIdentity, 'two');
});

test(`events: core/v1 create with MicroTime eventTime; 403 and partitions per client token ${T}`, async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespacedEvent({ namespace: 'a', body: { metadata: { name: 'e1' }, involvedObject: { kind: 'StatefulSet', name: 'web', namespace: 'a' }, reason: 'RolloutFinished', message: 'ok', type: 'Normal' } });
  await assert.rejects(core.createNamespacedEvent({ namespace: 'a', body: { metadata: { name: 'e2' }, involvedObject: {}, eventTime: new Date() as any } }), (e: any) => e.code === 400);
  assert.deepEqual(server.events().map((e) => e.reason), ['RolloutFinished']);
  server.forbid('pods', 'self-test');
  await assert.rejects(core.listNamespacedPod({ namespace: 'a' }), (e: any) => e.code === 403 && /cannot list resource "pods"/.test(JSON.parse(e.body).message));
  server.allow('pods', 'self-test');
  server.partition('self-test', 'refuse');
  await assert.rejects(core.listNamespacedPod({ namespace: 'a' }));
  server.heal('self-test');
  await core.listNamespacedPod({ namespace: 'a' });
});

async function fetchJson(path: string): Promise<any> {
  const opts: any = {};
  await kc.applyToHTTPSOptions(opts);
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(server.url + path, { ...opts, headers: { authorization: 'Bearer self-test' } }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(JSON.parse(b)));
    });
    req.on('error', reject);
    req.end();
  });
}
