import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectLabels } from '../../shard-agent/cardinality/label-selection.ts';
import { createLimiter, createQueryClient, BudgetExceeded } from '../../shard-agent/cardinality/prometheus-queries.ts';

test('selectLabels skips labels whose global count rules them out, scans big, unknown, rising and priority ones', () => {
  const sel = selectLabels({
    names: ['method', 'handler', 'request_id', 'ci_run', 'mystery', 'host', 'pod'],
    globalCounts: new Map([['method', 4], ['handler', 30], ['request_id', 3000], ['ci_run', 31], ['host', 300], ['pod', 40]]),
    previousCounts: new Map([['handler', 30], ['ci_run', 30], ['host', 300]]),
    priority: new Set(['pod']),
    minBar: (l) => (l === 'handler' ? 500 : l === 'host' ? 100 : 50),
    floor: 20,
  });
  assert.deepEqual(sel.scan.sort(), ['ci_run', 'host', 'mystery', 'pod', 'request_id']);
  assert.deepEqual(sel.skipped.sort(), ['handler', 'method']);
});

test('the limiter never runs more than its concurrency at once', async () => {
  const run = createLimiter(3);
  let active = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 20 }, () =>
      run(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
      }),
    ),
  );
  assert.equal(peak, 3);
});

test('no query starts after the deadline', async () => {
  const client = createQueryClient({ baseUrl: 'http://127.0.0.1:9', deadline: Date.now() - 1 });
  await assert.rejects(client.instant('up'), BudgetExceeded);
  assert.equal(client.count, 0);
});
