// A pod of a split shard is an agent of its split: promshard.io/split makes it <shard>.s<i>, the name
// its document, credential and rollout are keyed by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { podAgent } from '../../central-controller/kubernetes/pod-agent.ts';
import { podManifest } from '../support/kube-api-server.ts';

const pod = (labels: Record<string, string>) =>
  podManifest({ namespace: 'ns', name: 'prometheus-web-s1-0', labels: { 'promshard.io/shard': 'web', ...labels }, ip: '10.0.0.7', port: 9464 }) as V1Pod;

test('promshard.io/split names the split the pod serves; without it the pod serves the shard', () => {
  assert.equal((podAgent(pod({ 'promshard.io/split': '1' })) as { shard: string }).shard, 'web.s1');
  assert.equal((podAgent(pod({ 'promshard.io/split': '0' })) as { shard: string }).shard, 'web.s0');
  assert.equal((podAgent(pod({})) as { shard: string }).shard, 'web');
});

test('a promshard.io/split value that is not a split number makes the pod ignored, with the reason', () => {
  for (const bad of ['-1', '01', 'a', '1.5', '']) {
    const r = podAgent(pod({ 'promshard.io/split': bad })) as { error?: string };
    assert.match(r.error ?? '', /promshard\.io\/split=.* is not a split number/, bad);
  }
});
