// Prometheus re-serialises the configuration it loaded (defaults filled in, keys reordered), so the
// text of /api/v1/status/config never equals the file. What must match is what decides what gets
// scraped and where it goes: the jobs, in order, with their static targets, the external labels, and
// the remote_write URLs in order (Prometheus shows them verbatim).
import yaml from 'js-yaml';

export interface ConfigFingerprint {
  jobs: { name: string; targets: string[] }[];
  externalLabels: [string, string][];
  remoteWrite: string[];
}

export function fingerprintConfig(text: string): ConfigFingerprint {
  const parsed = (yaml.load(text) ?? {}) as {
    global?: { external_labels?: Record<string, unknown> };
    remote_write?: { url?: unknown }[] | null;
    scrape_configs?: { job_name?: unknown; static_configs?: { targets?: unknown[] }[] }[] | null;
  };
  const jobs = (parsed.scrape_configs ?? []).map((sc) => ({
    name: String(sc.job_name ?? ''),
    targets: (sc.static_configs ?? []).flatMap((g) => (g.targets ?? []).map(String)).sort(),
  }));
  const externalLabels = Object.entries(parsed.global?.external_labels ?? {})
    .map(([k, v]) => [k, String(v)] as [string, string])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const remoteWrite = (parsed.remote_write ?? []).map((rw) => String(rw?.url ?? ''));
  return { jobs, externalLabels, remoteWrite };
}

/** undefined when equal, else a short human explanation of the first difference. */
export function fingerprintDifference(written: ConfigFingerprint, loaded: ConfigFingerprint): string | undefined {
  if (written.jobs.length !== loaded.jobs.length) return `Prometheus runs ${loaded.jobs.length} jobs, the written file has ${written.jobs.length}`;
  for (let i = 0; i < written.jobs.length; i++) {
    const w = written.jobs[i];
    const l = loaded.jobs[i];
    if (w.name !== l.name) return `job #${i + 1} is "${l.name}" in Prometheus but "${w.name}" in the written file`;
    if (w.targets.join('\n') !== l.targets.join('\n')) return `job "${w.name}" has different static targets in Prometheus`;
  }
  if (JSON.stringify(written.externalLabels) !== JSON.stringify(loaded.externalLabels)) return 'external_labels differ';
  // The URLs themselves are not quoted: an operator may have put a token in a query string.
  if (written.remoteWrite.join('\n') !== loaded.remoteWrite.join('\n')) return `remote_write differs (${loaded.remoteWrite.length} endpoint(s) in Prometheus, ${written.remoteWrite.length} in the written file)`;
  return undefined;
}
