// The agent loads prom-client's pieces from their files (core/metrics/prom-client-lean.ts) to spare the
// memory of its index; what it exposes must not change: the same default metrics (names, help, types,
// order) as the index's collectDefaultMetrics, and metric classes that are the index's own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as promClient from 'prom-client';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from '../../core/metrics/prom-client-lean.ts';

const families = (text: string) => text.split('\n').filter((l) => l.startsWith('# HELP ') || l.startsWith('# TYPE '));

test('the default metrics are the ones prom-client collectDefaultMetrics registers, in its order', async () => {
  const viaIndex = new promClient.Registry();
  promClient.collectDefaultMetrics({ register: viaIndex });
  const lean = new Registry();
  collectDefaultMetrics(lean);
  const want = families(await viaIndex.metrics());
  assert.ok(want.length > 20, 'the index registers its default metrics');
  assert.deepEqual(families(await lean.metrics()), want);
});

test('CPU counters count what the process spends', async () => {
  const lean = new Registry();
  collectDefaultMetrics(lean);
  await lean.metrics();
  const until = Date.now() + 50;
  while (Date.now() < until);
  const text = await lean.metrics();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.ok(value('process_cpu_seconds_total') >= 0.04, text);
  assert.ok(Math.abs(value('process_cpu_seconds_total') - value('process_cpu_user_seconds_total') - value('process_cpu_system_seconds_total')) < 1e-6);
});

test('the classes are the index exports, so metrics of both mix in one registry', () => {
  assert.equal(Registry, promClient.Registry);
  assert.equal(Counter, promClient.Counter);
  assert.equal(Gauge, promClient.Gauge);
  assert.equal(Histogram, promClient.Histogram);
});
