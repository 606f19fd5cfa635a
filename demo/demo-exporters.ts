// Two small exporters on loopback for the demo's live targets: a healthy HTTP service, and a
// "third-party" checkout exporter that puts a UUID request_id on every series (the cardinality
// offender the analyzer flags on the demo team's page).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface DemoExporter {
  /** host:port, as it goes into a team file's `targets`. */
  target: string;
  close(): Promise<void>;
}

async function serve(render: () => string): Promise<DemoExporter> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics' && !req.url?.startsWith('/metrics?')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const series = (name: string, labels: Record<string, string>, value: number) =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',')}} ${value}\n`;

/** A healthy service: a latency histogram and a counter by handler × method × code, bounded labels only. */
export function startHealthyExporter(): Promise<DemoExporter> {
  const handlers = ['/', '/login', '/api/cart', '/api/cart/:id', '/api/orders', '/api/orders/:id', '/healthz'];
  const methods = ['GET', 'POST'];
  const codes = ['200', '404', '500'];
  const les = ['0.01', '0.05', '0.1', '0.25', '0.5', '1', '+Inf'];
  let requests = 0;
  return serve(() => {
    requests += 17;
    let out = '# HELP demo_http_request_duration_seconds Request latency.\n# TYPE demo_http_request_duration_seconds histogram\n';
    let counter = '# HELP demo_http_requests_total Requests served.\n# TYPE demo_http_requests_total counter\n';
    let n = 0;
    for (const handler of handlers)
      for (const method of methods)
        for (const code of codes) {
          n++;
          let cum = 0;
          for (const le of les) {
            cum += ((n * 7 + requests) % 11) + 1;
            out += series('demo_http_request_duration_seconds_bucket', { handler, method, code, le }, cum);
          }
          out += series('demo_http_request_duration_seconds_sum', { handler, method, code }, cum * 0.07);
          out += series('demo_http_request_duration_seconds_count', { handler, method, code }, cum);
          counter += series('demo_http_requests_total', { handler, method, code }, cum);
        }
    return out + counter + '# TYPE demo_up gauge\ndemo_up 1\n';
  });
}

/**
 * The offender: one series per recent request, labelled with the request's UUID. It keeps the last
 * `window` requests and adds `perScrape` new ones at every scrape, so the label churns too.
 */
export function startOffendingExporter(opts: { window?: number; perScrape?: number } = {}): Promise<DemoExporter> {
  const window = opts.window ?? 1200;
  const perScrape = opts.perScrape ?? 20;
  const ids: string[] = Array.from({ length: window }, () => randomUUID());
  const methods = ['GET', 'POST'];
  return serve(() => {
    for (let i = 0; i < perScrape; i++) {
      ids.shift();
      ids.push(randomUUID());
    }
    let out = '# HELP checkout_request_duration_seconds Duration of one checkout request.\n# TYPE checkout_request_duration_seconds gauge\n';
    ids.forEach((id, i) => (out += series('checkout_request_duration_seconds', { request_id: id, method: methods[i % 2]! }, 0.05 + (i % 13) / 100)));
    return out + '# TYPE checkout_up gauge\ncheckout_up 1\n';
  });
}
