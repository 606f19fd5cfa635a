// The demo's global view: one more real Prometheus that accepts remote_write
// (--web.enable-remote-write-receiver), standing in for Thanos Receive or Mimir. Every shard of the
// demo repository writes to it, so one query there sees the whole fleet, by shard and replica.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument, isMap, isSeq } from 'yaml';
import type { ProcessTracker, TrackedChild } from './processes.ts';
import { startPrometheusProcess } from './replica.ts';

export interface GlobalReceiver {
  url: string;
  /** Where shards send: Prometheus's remote-write receiver endpoint. */
  writeUrl: string;
  child: TrackedChild;
}

export async function startGlobalReceiver(o: { dir: string; bin: string; tracker: ProcessTracker }): Promise<GlobalReceiver> {
  const dir = join(o.dir, 'global-receiver');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const { url, child } = await startPrometheusProcess({ name: 'prometheus global receiver', bin: o.bin, dir, configFile, tracker: o.tracker, extraArgs: ['--web.enable-remote-write-receiver'] });
  return { url, writeUrl: `${url}/api/v1/write`, child };
}

/**
 * Points every remote_write URL of the demo repository's shards.yaml (fleet-level and per shard) at
 * the demo's receiver, through the YAML document so comments and layout stay as the user will see them.
 * Returns how many URLs were rewritten.
 */
export function pointRemoteWriteAt(shardsYamlPath: string, writeUrl: string): number {
  const doc = parseDocument(readFileSync(shardsYamlPath, 'utf8'));
  let n = 0;
  const rewrite = (list: unknown) => {
    if (!isSeq(list)) return;
    for (const entry of list.items) {
      if (isMap(entry) && entry.has('url')) {
        entry.set('url', writeUrl);
        n++;
      }
    }
  };
  rewrite(doc.get('remote_write'));
  const shards = doc.get('shards');
  if (isSeq(shards)) for (const s of shards.items) if (isMap(s)) rewrite(s.get('remote_write'));
  if (n > 0) writeFileSync(shardsYamlPath, doc.toString());
  return n;
}
