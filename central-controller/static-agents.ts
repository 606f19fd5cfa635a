// --agents-file: a static list of agents, YAML or JSON: either a list or `{agents: [...]}` of
// `{shard, replica, url}`.
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { AgentRegistration } from '../core/protocol/agent-api.ts';

export function readAgentsFile(path: string): AgentRegistration[] {
  const data = yaml.load(readFileSync(path, 'utf8'), { schema: yaml.FAILSAFE_SCHEMA }) as unknown;
  const list = Array.isArray(data) ? data : (data as { agents?: unknown })?.agents;
  if (!Array.isArray(list)) throw new Error(`${path}: expected a list of {shard, replica, url} (or {agents: [...]})`);
  return list.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    for (const k of ['shard', 'replica', 'url']) {
      if (typeof e?.[k] !== 'string' || !e[k]) throw new Error(`${path}: entry ${i + 1} needs a string "${k}"`);
    }
    if (!/^https?:\/\//.test(e.url as string)) throw new Error(`${path}: entry ${i + 1}: url must start with http:// or https://`);
    return { shard: e.shard as string, replica: e.replica as string, url: (e.url as string).replace(/\/+$/, '') };
  });
}
