// Small real HTTP exporters on 127.0.0.1 for tests and benchmarks. Each serves the Prometheus text
// exposition format on /metrics; the body is produced per scrape, so it can change from one scrape to
// the next (a growing label, a rotating id...).
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface Exporter {
  /** host:port, ready to put in a scrape config's targets. */
  target: string;
  url: string;
  /** Number of /metrics requests served so far. */
  readonly scrapes: number;
  close(): Promise<void>;
}

export type Render = (scrape: number) => string;

export async function startExporter(render: Render): Promise<Exporter> {
  let scrapes = 0;
  const server: Server = createServer((req, res) => {
    if (!req.url?.startsWith('/metrics')) {
      res.writeHead(404).end();
      return;
    }
    scrapes++;
    let body: string;
    try {
      body = render(scrapes);
    } catch (err) {
      res.writeHead(500).end(String(err));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    target: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/metrics`,
    get scrapes() {
      return scrapes;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** One exposition line: `name{a="x",b="y"} value`. */
export function line(name: string, labels: Record<string, string>, value: number): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`);
  return `${name}${parts.length ? `{${parts.join(',')}}` : ''} ${value}\n`;
}

/** A text block with HELP and TYPE lines followed by the given series lines. */
export function family(name: string, type: 'counter' | 'gauge' | 'histogram' | 'untyped', lines: string[]): string {
  return `# HELP ${name} ${name}\n# TYPE ${name} ${type}\n${lines.join('')}`;
}

/** Deterministic UUID-looking strings (so a test can create thousands cheaply and reproducibly). */
export function fakeUuid(i: number, seed = 0): string {
  const h = (n: number) => ((Math.imul(n ^ 0x9e3779b9, 0x85ebca6b) >>> 0) ^ (n * 2654435761)) >>> 0;
  const hex = (n: number, len: number) => h(n).toString(16).padStart(8, '0').slice(0, len);
  const a = i * 7 + seed * 1_000_003;
  return `${hex(a, 8)}-${hex(a + 1, 4)}-4${hex(a + 2, 3)}-a${hex(a + 3, 3)}-${hex(a + 4, 8)}${hex(a + 5, 4)}`;
}

export { randomUUID };

// ---------------------------------------------------------------------------------------------
// Ready-made bodies.

const HANDLERS = [
  '/',
  '/healthz',
  '/metrics',
  '/api/v1/users',
  '/api/v1/users/:id',
  '/api/v1/orders',
  '/api/v1/orders/:id',
  '/api/v1/orders/:id/items',
  '/api/v2/search',
  '/api/v2/items',
  '/login',
  '/logout',
  '/static/*',
  '/admin',
  '/admin/settings',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const CODES = ['200', '201', '400', '404', '500'];
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];

/**
 * A healthy HTTP service: a latency histogram by handler × method × code (le buckets), a request
 * counter, and some process gauges. `scale` multiplies the number of handlers (for benchmarks).
 */
export function healthyServiceBody(opts: { scale?: number; prefix?: string } = {}): string {
  const scale = opts.scale ?? 1;
  const p = opts.prefix ?? 'http';
  const handlers: string[] = [];
  for (let s = 0; s < scale; s++) for (const h of HANDLERS) handlers.push(s === 0 ? h : `/svc${s}${h}`);
  const hist: string[] = [];
  const count: string[] = [];
  let n = 1;
  for (const handler of handlers)
    for (const method of METHODS)
      for (const code of CODES) {
        n++;
        let cum = 0;
        for (const le of BUCKETS) {
          cum += (n % 7) + 1;
          hist.push(line(`${p}_request_duration_seconds_bucket`, { handler, method, code, le }, cum));
        }
        hist.push(line(`${p}_request_duration_seconds_sum`, { handler, method, code }, cum * 0.042));
        hist.push(line(`${p}_request_duration_seconds_count`, { handler, method, code }, cum));
        count.push(line(`${p}_requests_total`, { handler, method, code }, cum));
      }
  const gauges = [
    line('process_resident_memory_bytes', {}, 123456789),
    line('process_open_fds', {}, 42),
    ...['idle', 'user', 'system', 'iowait'].map((mode) => line('service_cpu_seconds_total', { mode }, 12.5)),
  ];
  return (
    family(`${p}_request_duration_seconds`, 'histogram', hist) +
    family(`${p}_requests_total`, 'counter', count) +
    family('service_misc', 'gauge', gauges)
  );
}

/** A legitimately bounded label with `n` host-like values (`web-001` …). */
export function hostsBody(n: number): string {
  const up: string[] = [];
  const info: string[] = [];
  for (let i = 1; i <= n; i++) {
    const host = `web-${String(i).padStart(3, '0')}`;
    up.push(line('fleet_host_up', { host, datacenter: i % 2 ? 'nyc3' : 'ams3' }, 1));
    info.push(line('fleet_host_info', { host, os: ['debian', 'ubuntu', 'rhel'][i % 3]!, rack: `r${i % 12}` }, 1));
  }
  return family('fleet_host_up', 'gauge', up) + family('fleet_host_info', 'gauge', info);
}
