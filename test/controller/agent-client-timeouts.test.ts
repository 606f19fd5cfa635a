// Calls from the controller to an agent end within their deadline even when the agent accepts the
// connection and never answers, or answers headers and then stalls its body.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { AgentClient, AgentUnreachable } from '../../central-controller/agent-client.ts';

const servers: (Server | TcpServer)[] = [];
after(() => servers.forEach((s) => s.close()));

async function listen(s: Server | TcpServer): Promise<string> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}`;
}

test('a connection that is accepted but never answered ends as unreachable within the timeout', async () => {
  const url = await listen(createTcpServer(() => {}));
  const client = new AgentClient(() => 'token-123456789', 300);
  const t0 = Date.now();
  await assert.rejects(client.status({ url, shard: 'networking', replica: 'a' }), (e: Error) => e instanceof AgentUnreachable && /no answer within 300 ms/.test(e.message));
  assert.ok(Date.now() - t0 < 2000, 'ended near its deadline');
});

test('headers followed by a stalled body also end within the timeout', async () => {
  const url = await listen(createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"shard":');
  }));
  const client = new AgentClient(() => 'token-123456789', 300);
  const t0 = Date.now();
  await assert.rejects(client.status({ url, shard: 'networking', replica: 'a' }), AgentUnreachable);
  assert.ok(Date.now() - t0 < 2000, 'ended near its deadline');
});
