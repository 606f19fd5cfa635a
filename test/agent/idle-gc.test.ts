// The agent's collection after a burst of applies (shard-agent/idle-gc.ts): once the burst is over,
// never during it, never while an apply runs, and with V8's real gc.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exposeGc, idleCollector } from '../../shard-agent/idle-gc.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a burst of applies is followed by two collections, none during it', async () => {
  const at: number[] = [];
  const t0 = Date.now();
  const c = idleCollector(() => at.push(Date.now() - t0), () => false, 100);
  try {
    for (let i = 0; i < 5; i++) {
      c.applied();
      await sleep(40);
    }
    assert.deepEqual(at, [], 'nothing while applies keep coming');
    await sleep(200);
    assert.equal(at.length, 1, 'the first collection, once the burst is over');
    await sleep(600);
    assert.equal(at.length, 2, 'and the second, after the first one has swept');
    assert.ok(at[1] - at[0] >= 450, `${at}`);
    await sleep(300);
    assert.equal(at.length, 2, 'and no more');
  } finally {
    c.stop();
  }
});

test('an apply in progress postpones the collection; stop cancels it', async () => {
  let calls = 0;
  let busy = true;
  const c = idleCollector(() => calls++, () => busy, 50);
  c.applied();
  await sleep(200);
  assert.equal(calls, 0, 'not while busy');
  busy = false;
  await sleep(100);
  assert.equal(calls, 1);
  c.stop();
  await sleep(600);
  assert.equal(calls, 1, 'stopped before the second');
});

test("exposeGc hands back V8's gc, which collects", async () => {
  const gc = exposeGc();
  let ref: object | undefined = { big: new Array(1e5).fill(1) };
  const weak = new WeakRef(ref);
  ref = undefined;
  // A WeakRef keeps its target until the end of the job that made it.
  await sleep(0);
  gc();
  assert.equal(weak.deref(), undefined);
});
