// The controller's HTTP calls to agents (node:http with kept-alive connections, see
// core/http/fetch-with-deadline.ts requestWithDeadline): connections are reused, a connection the agent
// closed while idle is not an outage, answers past their bound are refused, redirects are not followed
// (the credential stays with the agent it belongs to), and a push carries the leader's term.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AgentClient, AgentProtocolError, AgentUnreachable } from '../../central-controller/agent-client.ts';
import { MAX_ANSWER_BYTES } from '../../core/protocol/schemas.ts';
import type { DesiredDocument } from '../../core/document/desired-document.ts';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.on('connection', () => connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, connections: () => connections };
}

const status = { shard: 'networking', replica: 'a', applied: null, prometheusReachable: true };
const agent = (url: string) => ({ url, shard: 'networking', replica: 'a' });

test('calls to one agent reuse one kept-alive connection', async () => {
  const { url, connections } = await listen((_req, res) => res.end(JSON.stringify(status)));
  const client = new AgentClient(() => 'token-123456789', 2000);
  for (let i = 0; i < 5; i++) await client.status(agent(url)).catch(() => undefined);
  assert.equal(connections(), 1);
});

test('a kept-alive connection the agent closed while idle is not taken for an unreachable agent', async () => {
  const { url, server, connections } = await listen((_req, res) => res.end(JSON.stringify(status)));
  server.keepAliveTimeout = 100; // the agent drops idle connections quickly; the client may still hold one
  const client = new AgentClient(() => 'token-123456789', 2000);
  for (let i = 0; i < 4; i++) {
    await client.status(agent(url)).catch((e: Error) => assert.ok(!(e instanceof AgentUnreachable), `call ${i}: ${e.message}`));
    await new Promise((r) => setTimeout(r, 100 + (i % 2) * 5));
  }
  assert.ok(connections() >= 2, 'the agent did close idle connections');
});

test('an answer longer than its bound is refused as outside the protocol', async () => {
  const { url } = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }); // no content-length: chunked, counted as it comes
    res.write('{"pad":"');
    res.write('x'.repeat(MAX_ANSWER_BYTES.status + 10));
    res.end('"}');
  });
  const client = new AgentClient(() => 'token-123456789', 2000);
  await assert.rejects(client.status(agent(url)), (e: Error) => e instanceof AgentProtocolError && /larger than/.test(e.message));
});

test('a redirect is not followed: the credential never reaches the other host', async () => {
  const elsewhere: string[] = [];
  const other = await listen((req, res) => {
    elsewhere.push(req.headers.authorization ?? '');
    res.end(JSON.stringify(status));
  });
  const { url } = await listen((_req, res) => {
    res.writeHead(302, { location: `${other.url}/v1/status` });
    res.end();
  });
  const client = new AgentClient(() => 'token-123456789', 2000);
  await assert.rejects(client.status(agent(url)), (e: Error) => e instanceof AgentUnreachable && /302/.test(e.message));
  assert.deepEqual(elsewhere, []);
});

test('a push sends the document with the leader term, and the same bytes to every replica', async () => {
  const bodies: string[] = [];
  const { url } = await listen((_req, res, body) => {
    bodies.push(body);
    const doc = JSON.parse(body) as DesiredDocument;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ result: 'applied', shard: doc.shard, revision: doc.revision, hash: doc.hash }));
  });
  const doc = { shard: 'networking', revision: 'a'.repeat(40), generation: 3, hash: 'b'.repeat(64), files: {} } as unknown as DesiredDocument;
  const client = new AgentClient(() => 'token-123456789', 2000);
  await client.push(agent(url), doc, undefined, 7);
  await client.push({ ...agent(url), replica: 'b' }, doc, undefined, 7);
  await client.push(agent(url), doc);
  assert.equal(JSON.parse(bodies[0]!).term, 7);
  assert.equal(bodies[1], bodies[0]);
  assert.equal(JSON.parse(bodies[2]!).term, undefined, 'no term outside Kubernetes mode');
});

test('shutting the controller down ends a call in flight at once, not at its deadline', async () => {
  const { url } = await listen(() => undefined); // reads the request, never answers
  const abort = new AbortController();
  const client = new AgentClient(() => 'token-123456789', 30_000, abort.signal);
  const t0 = Date.now();
  const call = client.status(agent(url));
  setTimeout(() => abort.abort(), 50);
  await assert.rejects(call, AgentUnreachable);
  assert.ok(Date.now() - t0 < 2000, 'ended soon after the abort');
});
