// Applies are serialised; pushes that arrive during an apply coalesce so only the newest waits.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { configWithJobs, makeDoc, startFixture, type Fixture } from './helpers.ts';

describe('agent apply queue', () => {
  let fx: Fixture;
  before(async () => {
    // testDelayMs makes every apply take at least this long, so the pushes below overlap.
    fx = await startFixture({ testDelayMs: 600 });
  });
  after(async () => fx?.close());

  it('answers the middle of three overlapping pushes superseded and applies the last', async () => {
    const configs = [1, 2, 3].map((i) => configWithJobs({ [`job${i}`]: ['127.0.0.1:1'] }));
    const first = fx.post('/v1/apply', makeDoc('rev-1', 1, configs[0]));
    await new Promise((r) => setTimeout(r, 150)); // rev-1 is now applying
    const second = fx.post('/v1/apply', makeDoc('rev-2', 2, configs[1]));
    await new Promise((r) => setTimeout(r, 100)); // rev-2 is now waiting
    const statusDuring = (await fx.get('/v1/status')).body;
    assert.equal(statusDuring.applying, true);
    const third = fx.post('/v1/apply', makeDoc('rev-3', 3, configs[2]));
    const [r1, r2, r3] = await Promise.all([first, second, third]);
    assert.deepEqual(
      [r1.body.result, r2.body.result, r3.body.result],
      ['applied', 'superseded', 'applied'],
    );
    assert.equal(r2.status, 200);
    assert.equal(readFileSync(fx.configFile, 'utf8'), configs[2]);
    const status = (await fx.get('/v1/status')).body;
    assert.equal(status.applied.revision, 'rev-3');
    assert.deepEqual(
      status.recent.slice(0, 3).map((r: { revision: string; result: string }) => `${r.revision}:${r.result}`),
      ['rev-3:applied', 'rev-1:applied', 'rev-2:superseded'],
    );
  });
});
