// Server-sent event streams (issue 10, item 4): opening and closing many streams must leave nothing
// behind (no close hook, listener or timer per stream), memory must come back, and the number of open
// streams is bounded per client and in total, with a 429 past either bound and the slot usable again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { GitRepo, SHARDS_YAML, TOKEN, launchController, metricValue, tempDir, waitFor } from './helpers.ts';
import type { RunningController } from '../../central-controller/start-controller.ts';

const PATHS = { api: '/v1/events/stream', dashboard: '/dashboard/events' } as const;

interface OpenStream {
  status: number;
  head: string;
  body: string;
  socket: Socket;
}

/** Opens one stream over a raw socket (optionally from another loopback address) and waits for its head. */
function openStream(port: number, path: string, localAddress = '127.0.0.1'): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer from ${path}`));
    }, 10_000);
    socket.setEncoding('latin1');
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (d: string) => {
      data += d;
      const split = data.indexOf('\r\n\r\n');
      if (split < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      // An SSE answer is complete once its first event arrived; a refusal once its body did.
      if (status === 200 && !data.includes('event: hello')) return;
      if (status !== 200 && !/\r\n0\r\n\r\n$|\}\s*$|\n$/.test(data.slice(split + 4))) return;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve({ status, head: data.slice(0, split), body: data.slice(split + 4), socket });
    });
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nAccept: text/event-stream\r\n\r\n`);
  });
}

/** `n` open/close cycles, `parallel` at a time; every one must be admitted. */
async function churn(port: number, path: string, n: number, parallel = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const s = await openStream(port, path);
      assert.equal(s.status, 200, `cycle ${next}: ${s.head}`);
      s.socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

function bodyOf(s: OpenStream): string {
  // Chunked or not, the JSON / text message is in the body.
  return s.body;
}

async function withController(extra: Parameters<typeof launchController>[3], fn: (ctl: RunningController) => Promise<void>): Promise<void> {
  const repo = new GitRepo();
  repo.commit({ 'shards.yaml': SHARDS_YAML });
  const ctl = await launchController(repo, tempDir('promshard-streams-state-'), 0, { pollMs: 0, reconcileMs: 60_000, ...extra });
  try {
    await fn(ctl);
  } finally {
    await ctl.close();
    repo.destroy();
  }
}

function mechanismCounts(ctl: RunningController) {
  return {
    closeHooks: ctl.runtime.closeHookCount(),
    listeners: ['event', 'shard', 'repository'].reduce((n, e) => n + ctl.state.events.listenerCount(e), 0),
    streams: ctl.runtime.streams.size,
  };
}

test('closed streams leave no close hook, listener or live entry behind (both endpoints)', async () => {
  await withController({ maxEventStreamsPerClient: 100 }, async (ctl) => {
    const baseline = mechanismCounts(ctl);
    assert.equal(baseline.streams, 0);
    for (const path of Object.values(PATHS)) {
      // Held open: every stream is counted while it lives...
      const open = await Promise.all(Array.from({ length: 20 }, () => openStream(ctl.port, path)));
      assert.ok(open.every((s) => s.status === 200));
      assert.equal(ctl.runtime.streams.size, 20);
      assert.equal(await metricValue(ctl.url, 'promshard_controller_event_streams_open'), 20);
      for (const s of open) s.socket.destroy();
      // ...and nothing of it remains once it closed.
      await churn(ctl.port, path, 300);
      await waitFor(`${path}: counts back to baseline`, () => JSON.stringify(mechanismCounts(ctl)) === JSON.stringify(baseline), 5000);
    }
    assert.deepEqual(mechanismCounts(ctl), baseline);
    assert.equal(await metricValue(ctl.url, 'promshard_controller_event_streams_open'), 0);
  });
});

test('streams past the per-client bound get 429 with a clear message; a freed slot is usable again', async () => {
  await withController({ maxEventStreamsPerClient: 3, maxEventStreams: 5 }, async (ctl) => {
    const held = [await openStream(ctl.port, PATHS.api), await openStream(ctl.port, PATHS.dashboard), await openStream(ctl.port, PATHS.api)];
    assert.deepEqual(held.map((s) => s.status), [200, 200, 200]);

    const refusedApi = await openStream(ctl.port, PATHS.api);
    assert.equal(refusedApi.status, 429);
    assert.match(refusedApi.head, /content-type: application\/json/i);
    assert.match(refusedApi.head, /retry-after: 5/i);
    assert.match(bodyOf(refusedApi), /too many event streams from 127\.0\.0\.1: 3 open, at most 3 per client \(--max-event-streams-per-client\)/);
    const refusedDashboard = await openStream(ctl.port, PATHS.dashboard);
    assert.equal(refusedDashboard.status, 429);
    assert.match(refusedDashboard.head, /content-type: text\/plain/i);
    assert.match(bodyOf(refusedDashboard), /too many event streams from 127\.0\.0\.1/);
    refusedApi.socket.destroy();
    refusedDashboard.socket.destroy();
    assert.equal(await metricValue(ctl.url, 'promshard_controller_event_streams_rejected_total', { reason: 'per-client' }), 2);

    // Another client is not affected by this one's bound.
    const other = await openStream(ctl.port, PATHS.api, '127.0.0.2');
    assert.equal(other.status, 200);

    held[1]!.socket.destroy();
    const again = await waitFor('the freed slot is admitted again', async () => {
      const s = await openStream(ctl.port, PATHS.dashboard);
      if (s.status === 200) return s;
      s.socket.destroy();
      return null;
    }, 5000);
    assert.equal(again.status, 200);
    for (const s of [held[0]!, held[2]!, other, again]) s.socket.destroy();
    await waitFor('all released', () => ctl.runtime.streams.size === 0, 5000);
  });
});

test('streams past the total bound get 429 whoever asks; a freed slot is usable again', async () => {
  await withController({ maxEventStreamsPerClient: 2, maxEventStreams: 4 }, async (ctl) => {
    const held: OpenStream[] = [];
    for (const addr of ['127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.4']) held.push(await openStream(ctl.port, PATHS.api, addr));
    assert.deepEqual(held.map((s) => s.status), [200, 200, 200, 200]);
    const refused = await openStream(ctl.port, PATHS.dashboard, '127.0.0.5');
    assert.equal(refused.status, 429);
    assert.match(bodyOf(refused), /too many event streams: 4 open, at most 4 in total \(--max-event-streams\)/);
    refused.socket.destroy();
    assert.equal(await metricValue(ctl.url, 'promshard_controller_event_streams_rejected_total', { endpoint: 'dashboard', reason: 'total' }), 1);

    held[2]!.socket.destroy();
    const again = await waitFor('a slot freed by another client is admitted', async () => {
      const s = await openStream(ctl.port, PATHS.dashboard, '127.0.0.5');
      if (s.status === 200) return s;
      s.socket.destroy();
      return null;
    }, 5000);
    for (const s of [...held, again]) s.socket.destroy();
    await waitFor('all released', () => ctl.runtime.streams.size === 0, 5000);
  });
});

test('10,000 open/close cycles on each endpoint: memory returns within 20 MB, hooks and listeners to baseline', { timeout: 600_000 }, async () => {
  const child = fork(join(import.meta.dirname, 'stream-churn-child.ts'), [], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  type Msg = { type: string; url?: string; port?: number; closeHooks: number; listeners: number; streams: number; gc?: boolean };
  const next = (type: string) => new Promise<Msg>((resolve, reject) => {
    const on = (m: Msg) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.once('exit', (code) => reject(new Error(`controller child exited (${code})`)));
  });
  try {
    const ready = await next('ready');
    const url = ready.url!;
    const memory = async () => {
      child.send({ type: 'gc' });
      const counts = await next('gc-done');
      assert.ok(counts.gc, 'the child runs with --expose-gc');
      return { heap: await metricValue(url, 'nodejs_heap_size_used_bytes'), rss: await metricValue(url, 'process_resident_memory_bytes'), ...counts };
    };
    // Warm-up: the first streams load code and fill caches that stay; the baseline is taken after.
    await churn(ready.port!, PATHS.api, 500);
    await churn(ready.port!, PATHS.dashboard, 500);
    const start = await memory();
    const figures: string[] = [];
    for (const [name, path] of Object.entries(PATHS)) {
      const t0 = Date.now();
      await churn(ready.port!, path, 10_000);
      const after = await memory();
      const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
      figures.push(`${name}: 10,000 cycles in ${((Date.now() - t0) / 1000).toFixed(1)} s; heap ${mb(start.heap)} → ${mb(after.heap)} MB, rss ${mb(start.rss)} → ${mb(after.rss)} MB`);
      assert.equal(after.closeHooks, start.closeHooks, `${name}: close hooks back to baseline`);
      assert.equal(after.listeners, start.listeners, `${name}: event listeners back to baseline`);
      assert.equal(after.streams, 0, `${name}: no stream left open`);
      assert.ok(after.heap - start.heap < 20 * 1024 * 1024, `${name}: heap grew by ${mb(after.heap - start.heap)} MB`);
      assert.ok(after.rss - start.rss < 20 * 1024 * 1024, `${name}: rss grew by ${mb(after.rss - start.rss)} MB`);
    }
    console.log(figures.join('\n'));
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
});
