// STAND-IN FOR PROMETHEUS, used only by bench/fan-out.ts: a minimal HTTP endpoint that implements just
// what a shard agent talks to — POST /-/reload (re-reads the config file), GET /metrics with
// prometheus_config_last_reload_successful and prometheus_config_last_reload_success_timestamp_seconds,
// GET /api/v1/status/config (echoing the file it read), GET /api/v1/targets and GET /-/ready. It
// scrapes nothing: /api/v1/targets lists every static target of the loaded file as up, last scraped
// now, as a Prometheus with a short scrape interval would soon after a reload. Without it the
// controller's target-health watch (which asks until the targets are up, bounded at 2 min) would poll
// all 400 agents for two minutes after each change, which no real fleet does. It counts its reloads
// and target calls for the bench's breakdown.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { parse } from 'yaml';

type StaticTarget = { job: string; address: string };

function parsedTargets(yaml: string): StaticTarget[] {
  const config = (parse(yaml) ?? {}) as { scrape_configs?: { job_name?: string; static_configs?: { targets?: string[] }[] }[] };
  return (config.scrape_configs ?? []).flatMap((job) => (job.static_configs ?? []).flatMap((g) => (g.targets ?? []).map((address) => ({ job: job.job_name ?? '', address }))));
}

const scalar = (text: string) => (text.startsWith('"') ? (JSON.parse(text) as string) : text);

/**
 * The static targets of a rendered prometheus.yml by a line scan of the renderer's block layout
 * (core/render/yaml-emitter.ts): a YAML parse per reload cost the stub ~4 ms, charged to the agents'
 * CPU in the bench although a real Prometheus has its targets in memory. The first file of each
 * process is checked against a full parse, so a layout the scan misreads fails the bench loudly.
 */
function scannedTargets(yaml: string): StaticTarget[] {
  const out: StaticTarget[] = [];
  let job = '';
  let listIndent = -1; // indentation of the items of the `targets:` list being read, -1 outside one
  for (const line of yaml.split('\n')) {
    const indent = line.length - line.trimStart().length;
    const text = line.trim();
    if (listIndent >= 0 && indent === listIndent && text.startsWith('- ')) {
      out.push({ job, address: scalar(text.slice(2)) });
      continue;
    }
    listIndent = -1;
    const jobName = /^- job_name: (.+)$/.exec(text);
    if (jobName) job = scalar(jobName[1]!);
    else if (text === '- targets:' || text === 'targets:') listIndent = indent + (text.startsWith('- ') ? 4 : 2);
  }
  return out;
}

let checked = false;
function staticTargets(yaml: string): StaticTarget[] {
  const scanned = scannedTargets(yaml);
  if (!checked && scanned.length > 0) {
    checked = true;
    const parsed = parsedTargets(yaml);
    if (JSON.stringify(parsed) !== JSON.stringify(scanned)) throw new Error(`reload stub: the line scan of the rendered config (${scanned.length} targets) disagrees with a YAML parse (${parsed.length})`);
  }
  return scanned;
}

export interface ReloadStub {
  url: string;
  reloads: number;
  /** GET /api/v1/targets calls answered (the controller's target-health watch, through the agent). */
  targetCalls: number;
  close(): Promise<void>;
}

export async function startReloadStub(configFile: string): Promise<ReloadStub> {
  let loaded = await readFile(configFile, 'utf8').catch(() => '');
  let successful = 1;
  let successTs = Date.now() / 1000;
  let targetsOf: { yaml: string; targets: { job: string; address: string }[] } | null = null; // parsed once per loaded file, not per call
  const stub = { url: '', reloads: 0, targetCalls: 0, close: async () => undefined } as ReloadStub;
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
      stub.targetCalls++;
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
