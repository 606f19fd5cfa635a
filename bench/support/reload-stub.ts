// STAND-IN FOR PROMETHEUS, used only by bench/fan-out.ts: a minimal HTTP endpoint that implements just
// what a shard agent talks to — POST /-/reload (re-reads the config file), GET /metrics with
// prometheus_config_last_reload_successful and prometheus_config_last_reload_success_timestamp_seconds,
// GET /api/v1/status/config (echoing the file it read) and GET /-/ready. It scrapes nothing.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';

export interface ReloadStub {
  url: string;
  reloads: number;
  close(): Promise<void>;
}

export async function startReloadStub(configFile: string): Promise<ReloadStub> {
  let loaded = await readFile(configFile, 'utf8').catch(() => '');
  let successful = 1;
  let successTs = Date.now() / 1000;
  const stub = { url: '', reloads: 0, close: async () => undefined } as ReloadStub;
  const server: Server = createServer(async (req, res) => {
    if (req.url === '/-/ready' || req.url === '/-/healthy') return void res.end('Prometheus Server is Ready.\n');
    if (req.url === '/-/reload' && req.method === 'POST') {
      try {
        loaded = await readFile(configFile, 'utf8');
        successful = 1;
        successTs = Date.now() / 1000;
        stub.reloads++;
        res.end();
      } catch (err) {
        successful = 0;
        res.statusCode = 500;
        res.end(String(err));
      }
      return;
    }
    if (req.url === '/metrics') {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      return void res.end(
        `# TYPE prometheus_config_last_reload_successful gauge\nprometheus_config_last_reload_successful ${successful}\n# TYPE prometheus_config_last_reload_success_timestamp_seconds gauge\nprometheus_config_last_reload_success_timestamp_seconds ${successTs}\n`,
      );
    }
    if (req.url === '/api/v1/status/config') {
      res.setHeader('content-type', 'application/json');
      return void res.end(JSON.stringify({ status: 'success', data: { yaml: loaded } }));
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stub.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  stub.close = () => new Promise<void>((r) => server.close(() => r()));
  return stub;
}
