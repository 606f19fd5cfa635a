// Child process of bench/fan-out.ts: runs a slice of the fleet — real shard agents, each beside a
// reload stub standing in for Prometheus (see reload-stub.ts) — and reports their URLs over IPC.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { startReloadStub, type ReloadStub } from './reload-stub.ts';

interface StartMessage {
  type: 'start';
  dir: string;
  controllerUrl: string;
  token: string;
  replicas: { shard: string; replica: string }[];
}

const running: { agent: RunningAgent; stub: ReloadStub }[] = [];

process.on('message', async (msg: StartMessage | { type: 'stop' } | { type: 'cpu' } | { type: 'applied'; revision: string }) => {
  // CPU of this process (its agents and their stubs) so far, and what the stubs were asked, for the bench's breakdown.
  if (msg.type === 'cpu') return void process.send!({ type: 'cpu', usage: process.cpuUsage(), reloads: running.reduce((n, r) => n + r.stub.reloads, 0), targetCalls: running.reduce((n, r) => n + r.stub.targetCalls, 0) });
  // The agents' own word, beside the controller's view: how many of them run and proved this revision.
  if (msg.type === 'applied') return void process.send!({ type: 'applied', count: running.filter((r) => r.agent.status().applied?.revision === msg.revision && r.agent.status().applied?.verified).length });
  if (msg.type === 'start') {
    for (const r of msg.replicas) {
      const dir = join(msg.dir, `${r.shard}-${r.replica}`);
      mkdirSync(dir, { recursive: true });
      const configFile = join(dir, 'prometheus.yml');
      writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
      const stub = await startReloadStub(configFile);
      const agent = await startAgent({
        shard: r.shard,
        replica: r.replica,
        prometheusUrl: stub.url,
        configFile,
        stateDir: join(dir, 'state'),
        token: msg.token,
        controllerUrl: msg.controllerUrl,
        promtool: null,
        heartbeatMs: 10_000,
        pullIntervalMs: 600_000,
        probeIntervalMs: 30_000,
        defaultMetrics: false,
        logWrite: () => undefined,
      });
      running.push({ agent, stub });
    }
    process.send!({ type: 'ready', count: running.length });
  } else if (msg.type === 'stop') {
    await Promise.all(running.map(async (r) => {
      await r.agent.close();
      await r.stub.close();
    }));
    process.send!({ type: 'stopped' });
    process.exit(0);
  }
});
