// Server-sent event streams (issue 10, item 4): memory of a controller after 10,000 open/close cycles
// on each of /v1/events/stream and /dashboard/events, against its memory before, read from the
// controller's own /metrics. Goal: within 20 MB of the start.
//
// The controller runs alone in a child process (the test fixture test/controller/stream-churn-child.ts,
// started with --expose-gc so that a collection before each reading compares live memory, not garbage
// not yet collected). Streams are opened with node:http, 8 at a time, and each is closed once its first
// event arrived.
//
// Run: node --import tsx bench/event-stream-churn.ts   (BENCH_CYCLES=10000)
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TOKEN, metricValue } from '../test/controller/helpers.ts';

const PATHS = { api: '/v1/events/stream', dashboard: '/dashboard/events' } as const;
const CHILD = fileURLToPath(new URL('../test/controller/stream-churn-child.ts', import.meta.url));

/** Opens one stream, waits for its first bytes, closes it. */
function cycle(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        req.destroy();
        return reject(new Error(`${path}: HTTP ${res.statusCode}`));
      }
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
    req.end();
  });
}

async function churn(port: number, path: string, n: number, parallel = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await cycle(port, path);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export async function runEventStreamChurnBench(): Promise<Record<string, number | string>> {
  const cycles = Number(process.env.BENCH_CYCLES ?? 10_000);
  const child = fork(CHILD, [], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  type Msg = { type: string; url?: string; port?: number };
  const next = (type: string) =>
    new Promise<Msg>((resolve, reject) => {
      const on = (m: Msg) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m);
      };
      child.on('message', on);
      child.once('exit', (code) => reject(new Error(`controller child exited (${code})`)));
    });
  const figures: Record<string, number | string> = {};
  try {
    const ready = await next('ready');
    const memory = async () => {
      child.send({ type: 'gc' });
      await next('gc-done');
      return { heap: await metricValue(ready.url!, 'nodejs_heap_size_used_bytes'), rss: await metricValue(ready.url!, 'process_resident_memory_bytes') };
    };
    // Warm-up: the first streams load code and fill caches that stay.
    for (const path of Object.values(PATHS)) await churn(ready.port!, path, 500);
    const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
    for (const [name, path] of Object.entries(PATHS)) {
      const start = await memory();
      const t0 = performance.now();
      await churn(ready.port!, path, cycles);
      const seconds = (performance.now() - t0) / 1000;
      const after = await memory();
      figures[`${name}: cycles`] = cycles;
      figures[`${name}: seconds`] = Math.round(seconds * 10) / 10;
      figures[`${name}: heap growth MB (goal < 20)`] = mb(after.heap - start.heap);
      figures[`${name}: rss growth MB (goal < 20)`] = mb(after.rss - start.rss);
    }
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.table(await runEventStreamChurnBench());
}
