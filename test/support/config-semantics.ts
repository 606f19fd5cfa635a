// What a Prometheus configuration means for these tests, independent of how it is serialised:
// Prometheus re-serialises the YAML it loaded (with its defaults) on /api/v1/status/config, so a
// rendered file and the loaded configuration are compared by their jobs (in order), each job's
// interval, timeout and static targets, and the external labels. Written independently of the
// agent's own fingerprint (shard-agent/config-fingerprint.ts) so that the tests do not grade the
// agent with its own ruler.
import { parse } from 'yaml';

export interface JobMeaning {
  name: string;
  interval: string;
  timeout: string;
  targets: string[];
}

export interface ConfigMeaning {
  externalLabels: Record<string, string>;
  jobs: JobMeaning[];
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function configMeaning(yamlText: string): ConfigMeaning {
  const doc = obj(parse(yamlText));
  const global = obj(doc.global);
  const gInterval = String(global.scrape_interval ?? '1m');
  const gTimeout = String(global.scrape_timeout ?? '10s');
  const externalLabels = Object.fromEntries(Object.entries(obj(global.external_labels)).map(([k, v]) => [k, String(v)]));
  const jobs = arr(doc.scrape_configs).map((j) => {
    const job = obj(j);
    const targets = arr(job.static_configs).flatMap((sc) => arr(obj(sc).targets).map(String));
    return {
      name: String(job.job_name),
      interval: String(job.scrape_interval ?? gInterval),
      timeout: String(job.scrape_timeout ?? gTimeout),
      targets: [...new Set(targets)].sort(),
    };
  });
  return { externalLabels, jobs };
}

/** A stable string for a meaning (keys sorted), to put in sets. */
export function meaningKey(m: ConfigMeaning): string {
  const labels = Object.keys(m.externalLabels)
    .sort()
    .map((k) => `${k}=${m.externalLabels[k]}`)
    .join(',');
  return `{${labels}}|` + m.jobs.map((j) => `${j.name}@${j.interval}/${j.timeout}[${j.targets.join(',')}]`).join(';');
}

export const configKey = (yamlText: string): string => meaningKey(configMeaning(yamlText));
