// The agent's HTTP layer without express (core/http/router.ts, core/http/json-body.ts) answers as
// express did: the same requests go to an express app built the way the agent's used to be and to a
// Router, both on loopback, and must get the same status and body. Also: the node:http Prometheus
// client stops reading /metrics once the reload gauges are in, and reports a refused connection as before.
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { jsonBody, refuseDeclaredOversize } from '../../core/http/json-body.ts';
import { Router, sendJson } from '../../core/http/router.ts';
import { jsonErrorHandler, listen, routeErrorHandler } from '../../core/http/server.ts';
import { createLogger } from '../../core/log/logger.ts';
import { PrometheusClient, PrometheusUnreachable } from '../../shard-agent/prometheus-client.ts';

const LIMIT = '1kb';
const log = createLogger({ component: 'router-test', write: () => undefined });

/** What the agent's express app did: declared-size check, express.json, echo of the parsed body and query. */
function expressApp() {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const declared = (req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (Number(req.headers['content-length']) > 1024) {
      res.setHeader('Connection', 'close');
      res.status(413).json({ error: 'request body too large' });
      return;
    }
    next();
  };
  app.post('/v1/apply', declared, express.json({ limit: LIMIT, strict: true }), (req, res) => {
    res.json({ body: req.body ?? null, query: { ...req.query } });
  });
  app.get('/v1/status', (req, res) => {
    res.json({ query: { ...req.query } });
  });
  app.get('/v1/boom', () => {
    throw new Error('boom');
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(jsonErrorHandler(log));
  return app;
}

function routerApp(): Router {
  const app = new Router((_req, res) => sendJson(res, 404, { error: 'not found' }), routeErrorHandler(log));
  app.post('/v1/apply', refuseDeclaredOversize(LIMIT), jsonBody(LIMIT), (req, res) => sendJson(res, 200, { body: req.body ?? null, query: { ...req.query } }));
  app.get('/v1/status', (req, res) => sendJson(res, 200, { query: { ...req.query } }));
  app.get('/v1/boom', () => {
    throw new Error('boom');
  });
  return app;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the agent router answers as express did', () => {
  let servers: Server[] = [];
  let expressPort: number;
  let routerPort: number;
  before(async () => {
    servers = [await listen(expressApp(), '127.0.0.1', 0), await listen(routerApp().handle, '127.0.0.1', 0)];
    [expressPort, routerPort] = servers.map((s) => (s.address() as AddressInfo).port);
  });
  after(() => {
    for (const s of servers) s.close();
  });

  const json = { 'content-type': 'application/json' };
  const cases: [string, string, string, Record<string, string>, (Buffer | string)?][] = [
    ['an object', 'POST', '/v1/apply?force=true', json, '{"a":1}'],
    ['an array', 'POST', '/v1/apply', json, '[1,2]'],
    ['whitespace before the object', 'POST', '/v1/apply', json, ' \n\t{"a":1}'],
    ['an empty body', 'POST', '/v1/apply', json, ''],
    ['a string', 'POST', '/v1/apply', json, '"x"'],
    ['a number', 'POST', '/v1/apply', json, '12'],
    ['null', 'POST', '/v1/apply', json, 'null'],
    ['not JSON', 'POST', '/v1/apply', json, '{"a":'],
    ['binary', 'POST', '/v1/apply', json, Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b])],
    ['a byte-order mark', 'POST', '/v1/apply', json, '\uFEFF{"a":1}'],
    ['charset=utf-8 in quotes', 'POST', '/v1/apply', { 'content-type': 'application/json; charset="UTF-8"' }, '{"a":1}'],
    ['charset latin1', 'POST', '/v1/apply', { 'content-type': 'application/json; charset=latin1' }, '{"a":1}'],
    ['Content-Type in capitals', 'POST', '/v1/apply', { 'content-type': 'Application/JSON' }, '{"a":1}'],
    ['text/plain', 'POST', '/v1/apply', { 'content-type': 'text/plain' }, '{"a":1}'],
    ['no Content-Type', 'POST', '/v1/apply', {}, '{"a":1}'],
    ['gzip', 'POST', '/v1/apply', { ...json, 'content-encoding': 'gzip' }, gzipSync('{"zipped":true}')],
    ['gzip that is not', 'POST', '/v1/apply', { ...json, 'content-encoding': 'gzip' }, '{"a":1}'],
    ['an unknown encoding', 'POST', '/v1/apply', { ...json, 'content-encoding': 'bogus' }, '{"a":1}'],
    ['declared over the limit', 'POST', '/v1/apply', json, JSON.stringify({ pad: 'x'.repeat(2000) })],
    ['inflated over the limit', 'POST', '/v1/apply', { ...json, 'content-encoding': 'gzip' }, gzipSync(JSON.stringify({ pad: 'x'.repeat(5000) }))],
    ['a repeated query key', 'GET', '/v1/status?job=a&job=b&x=', {}],
    ['a trailing slash', 'GET', '/v1/status/', {}],
    ['capitals in the path', 'GET', '/V1/Status', {}],
    ['HEAD on a GET route', 'HEAD', '/v1/status', {}],
    ['a wrong method', 'PUT', '/v1/status', {}],
    ['GET on a POST route', 'GET', '/v1/apply', {}],
    ['an unknown path', 'GET', '/v2/apply', {}],
    ['an encoded path', 'GET', '/v1/%73tatus', {}],
    ['a step that throws', 'GET', '/v1/boom', {}],
    // The form a client sends through a forward proxy (RFC 9112, 3.2.2).
    ['the absolute form', 'GET', 'http://127.0.0.1/v1/status?job=a', {}],
    ['the absolute form of a POST', 'POST', 'http://agent.example:9464/v1/apply?force=true', json, '{"a":1}'],
    ['a double slash', 'GET', '//v1/status', {}],
  ];
  for (const [what, method, path, headers, body] of cases) {
    it(what, async () => {
      const [e, r] = [await send(expressPort, method, path, headers, body), await send(routerPort, method, path, headers, body)];
      assert.deepEqual({ status: r.status, body: r.body }, { status: e.status, body: e.body });
      assert.equal(r.headers['content-type'], e.headers['content-type']);
      assert.equal(r.headers['content-length'], e.headers['content-length']);
    });
  }

  it('past the limit, the upload is read to its end before the 413, on a body without a declared length', async () => {
    const answers = await Promise.all(
      [expressPort, routerPort].map(
        (port) =>
          new Promise<Answer>((resolve, reject) => {
            const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/apply', headers: json, agent: false }, (res) => {
              let text = '';
              res.on('data', (c) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
            });
            req.on('error', reject);
            // Chunked, so that only reading tells the size.
            for (let i = 0; i < 20; i++) req.write('x'.repeat(500));
            req.end();
          }),
      ),
    );
    assert.deepEqual({ status: answers[1].status, body: answers[1].body }, { status: answers[0].status, body: answers[0].body });
    assert.equal(answers[1].status, 413);
  });
});

describe('the agent reads Prometheus over node:http', () => {
  it('reloadGauges stops reading /metrics once both gauges are in (a body that never ends)', async () => {
    let closed = false;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('# HELP x\nprocess_start_time_seconds 1700000000\nprometheus_config_last_reload_successful 1\n');
      res.write('prometheus_config_last_reload_success_timestamp_seconds 1.7e+09\npromhttp_metric_handler_requests_total 1\n');
      // …and never ends: the client must stop by itself.
      res.on('close', () => (closed = true));
    });
    const s = await new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    try {
      const client = new PrometheusClient(`http://127.0.0.1:${(s.address() as AddressInfo).port}`, 3000);
      const t0 = Date.now();
      assert.deepEqual(await client.reloadGauges(), { successful: 1, successTimestamp: 1.7e9, processStartTime: 1700000000 });
      assert.ok(Date.now() - t0 < 2000, 'answered before the deadline');
      for (let i = 0; i < 50 && !closed; i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(closed, 'the connection left mid-body is closed');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('reloadGauges reads at most 32 MiB of an answer that never breaks a line (not a Prometheus), then gives up', async () => {
    const chunk = 'x'.repeat(1 << 16);
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
    const s = await new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    try {
      const client = new PrometheusClient(`http://127.0.0.1:${(s.address() as AddressInfo).port}`, 6000);
      const t0 = Date.now();
      // Before, the tail kept growing until the deadline: as much memory as loopback could send in that time.
      await assert.rejects(client.reloadGauges(), (err: Error) => err instanceof PrometheusUnreachable && /larger than the 33554432 bytes allowed/.test(err.message));
      assert.ok(Date.now() - t0 < 5000, `gave up before the deadline (${Date.now() - t0} ms)`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a Prometheus that is not there is unreachable, with the connection error', async () => {
    const client = new PrometheusClient('http://127.0.0.1:9', 2000);
    await assert.rejects(client.reloadGauges(), (err: Error) => err instanceof PrometheusUnreachable && err.message === 'Prometheus at http://127.0.0.1:9 unreachable: ECONNREFUSED');
    assert.equal(await client.ready(), false);
  });
});
