// STAND-IN FOR PROMETHEUS, used only by bench/fan-out.ts: a minimal HTTP endpoint that implements just
// what a shard agent talks to — POST /-/reload (re-reads the config file), GET /metrics with
// prometheus_config_last_reload_successful and prometheus_config_last_reload_success_timestamp_seconds,
// GET /api/v1/status/config (echoing the file it read), GET /api/v1/targets and GET /-/ready. It
// scrapes nothing: /api/v1/targets lists every static target of the loaded file as up, last scraped
// now, as a Prometheus with a short scrape interval would soon after a reload. Without it the
// controller's target-health watch (which asks every second until the targets are up, bounded at
// 2 min) would poll all 400 agents for two minutes after each change, which no real fleet does.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { parse } from 'yaml';

function staticTargets(yaml: string): { job: string; address: string }[] {
  const config = (parse(yaml) ?? {}) as { scrape_configs?: { job_name?: string; static_configs?: { targets?: string[] }[] }[] };
  return (config.scrape_configs ?? []).flatMap((job) => (job.static_configs ?? []).flatMap((g) => (g.targets ?? []).map((address) => ({ job: job.job_name ?? '', address }))));
}

export interface ReloadStub {
  url: string;
  reloads: number;
  close(): Promise<void>;
}

export async function startReloadStub(configFile: string): Promise<ReloadStub> {
  let loaded = await readFile(configFile, 'utf8').catch(() => '');
  let successful = 1;
  let successTs = Date.now() / 1000;
  let targetsOf: { yaml: string; targets: { job: string; address: string }[] } | null = null; // parsed once per loaded file, not per call
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
    if (req.url?.startsWith('/api/v1/targets')) {
      res.setHeader('content-type', 'application/json');
      if (targetsOf?.yaml !== loaded) targetsOf = { yaml: loaded, targets: staticTargets(loaded) };
      const lastScrape = new Date().toISOString(); // every call sees a newer scrape, as after a short scrape interval
      const activeTargets = targetsOf.targets.map((t) => ({ scrapePool: t.job, discoveredLabels: { __address__: t.address }, health: 'up', lastError: '', lastScrape }));
      return void res.end(JSON.stringify({ status: 'success', data: { activeTargets } }));
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  stub.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  stub.close = () => new Promise<void>((r) => server.close(() => r()));
  return stub;
}
