// Renders one shard's prometheus.yml. Deterministic: the same model gives byte-identical output, so a
// content hash identifies a configuration. Nothing revision-specific is written into the file, so a
// commit that does not change a shard leaves its hash (and its Prometheus) alone.
import { commentText, emitYaml } from './yaml-emitter.ts';
import type { CompiledJob, CompiledShard, LabelSet, SplitUnit } from '../../schemas/model.ts';
import { relabelEntries } from './relabel-entries.ts';
import { identityExternalLabels, renderRemoteWrite } from './remote-write.ts';
import { PREVIOUS_SPLIT_HASH_LABEL, SPLIT_HASH_LABEL } from '../document/split-name.ts';

function sortedLabels(labels: LabelSet): LabelSet {
  const out: LabelSet = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k];
  return out;
}

/** Discovered targets cannot carry static labels, so team and job labels are set by relabelling. */
function labelRelabelRules(labels: LabelSet): Record<string, unknown>[] {
  return Object.entries(sortedLabels(labels)).map(([name, value]) => ({ target_label: name, replacement: value.replace(/\$/g, '$$$$'), action: 'replace' }));
}

/**
 * The split's hashmod/keep pair. It comes first in relabel_configs so the split is decided on the
 * target as discovered, before any team rule: a team rule that rewrites `__address__` later changes
 * where the target is scraped but not which split keeps it, and a target `keep` dropped cannot be
 * brought back by any later step. Rule reserved-relabel-label keeps team rules off `__tmp_promshard_*`.
 */
export function splitRelabelRules(split: SplitUnit): Record<string, unknown>[] {
  // The hash labels are dropped again at once: Prometheus keeps `__tmp_*` labels on the target, and
  // derives the target's identity and its scrape offset from its labels, so a hash label left on it
  // would make every target of a reshard a new one, restarted at a new offset (a skipped scrape).
  const drop = { regex: `${SPLIT_HASH_LABEL}|${PREVIOUS_SPLIT_HASH_LABEL}`, action: 'labeldrop' };
  const previous = split.previous;
  if (previous && previous.count > 1) {
    // While resharding, the unit keeps the union of its split under both layouts: a target that
    // moves away stays here until its new split has scraped it (core/placement/reshard-overlap.ts).
    return [
      { source_labels: [previous.by], modulus: previous.count, target_label: PREVIOUS_SPLIT_HASH_LABEL, action: 'hashmod' },
      { source_labels: [split.by], modulus: split.count, target_label: SPLIT_HASH_LABEL, action: 'hashmod' },
      { source_labels: [PREVIOUS_SPLIT_HASH_LABEL, SPLIT_HASH_LABEL], separator: ';', regex: `${previous.index};[0-9]+|[0-9]+;${split.index}`, action: 'keep' },
      drop,
    ];
  }
  return [
    { source_labels: [split.by], modulus: split.count, target_label: SPLIT_HASH_LABEL, action: 'hashmod' },
    { source_labels: [SPLIT_HASH_LABEL], regex: String(split.index), action: 'keep' },
    drop,
  ];
}

export function renderScrapeConfig(job: CompiledJob, split?: SplitUnit): Record<string, unknown> {
  const s = job.spec;
  const out: Record<string, unknown> = { job_name: job.name, scrape_interval: s.interval, scrape_timeout: s.timeout };
  if (s.metrics_path) out.metrics_path = s.metrics_path;
  if (s.scheme) out.scheme = s.scheme;
  if (s.params) out.params = s.params;
  if (s.honor_labels !== undefined) out.honor_labels = s.honor_labels;
  for (const [k, v] of Object.entries(s.limits).sort(([a], [b]) => (a < b ? -1 : 1))) out[k] = v;
  if (s.tls) out.tls_config = { ...s.tls };
  if (s.basic_auth) out.basic_auth = { username: s.basic_auth.username, password_file: s.basic_auth.password_file };
  if (s.authorization) out.authorization = { type: s.authorization.type ?? 'Bearer', credentials_file: s.authorization.credentials_file };

  const relabel: Record<string, unknown>[] = split && split.count > 1 ? splitRelabelRules(split) : [];
  if (s.discovery) {
    if (s.discovery.dns) {
      const d = s.discovery.dns;
      out.dns_sd_configs = [{ names: d.names, ...(d.type ? { type: d.type } : {}), ...(d.port ? { port: d.port } : {}), ...(d.refresh_interval ? { refresh_interval: d.refresh_interval } : {}) }];
    }
    if (s.discovery.kubernetes) {
      const k = s.discovery.kubernetes;
      const sd: Record<string, unknown> = { role: k.role };
      if (k.api_server) sd.api_server = k.api_server;
      if (k.namespaces) sd.namespaces = { names: k.namespaces };
      if (k.label_selector || k.field_selector) {
        sd.selectors = [{ role: k.role, ...(k.label_selector ? { label: k.label_selector } : {}), ...(k.field_selector ? { field: k.field_selector } : {}) }];
      }
      out.kubernetes_sd_configs = [sd];
    }
    relabel.push(...labelRelabelRules({ ...(s.labels ?? {}), team: job.team }));
  } else {
    // Group targets by their label set so each static_config carries its own labels.
    const groups = new Map<string, { targets: string[]; labels: LabelSet }>();
    for (const t of job.targets) {
      const labels = sortedLabels({ ...t.labels, team: job.team });
      const key = JSON.stringify(labels);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { targets: [], labels }));
      g.targets.push(t.address);
    }
    out.static_configs = [...groups.values()].map((g) => ({ targets: g.targets, labels: g.labels }));
  }
  relabel.push(...relabelEntries(s.relabel_configs));
  if (relabel.length) out.relabel_configs = relabel;
  const metricRelabel = relabelEntries(s.metric_relabel_configs);
  if (metricRelabel.length) out.metric_relabel_configs = metricRelabel;
  return out;
}

export function renderPrometheusConfig(shard: CompiledShard, split?: SplitUnit): string {
  const header = [
    '# Generated by promshard. Do not edit: change the team files in the configuration repository.',
    `# shard: ${commentText(shard.name)}; ${split && split.count > 1 ? `split ${split.index} of ${split.count} by ${split.by}; ` : ''}${split?.previous ? `resharding from split ${split.previous.index} of ${split.previous.count} by ${split.previous.by}; ` : ''}${shard.jobs.length} job(s)`,
    '',
  ].join('\n');
  const remoteWrite = shard.remoteWrite ?? [];
  // Only a shard that sends samples out gets identity labels: the replica label needs Prometheus's
  // expand-external-labels feature (core/render/remote-write.ts), which other shards need not enable.
  const externalLabels = remoteWrite.length ? { ...shard.externalLabels, ...identityExternalLabels(shard.name, split) } : shard.externalLabels;
  const global = emitYaml(
    {
      global: {
        scrape_interval: shard.interval,
        scrape_timeout: shard.timeout,
        evaluation_interval: shard.evaluationInterval,
        ...(Object.keys(externalLabels).length ? { external_labels: sortedLabels(externalLabels) } : {}),
      },
      ...(remoteWrite.length ? { remote_write: renderRemoteWrite(remoteWrite) } : {}),
    },
  ) + '\n';
  if (shard.jobs.length === 0) return `${header}${global}scrape_configs: []\n`;
  const jobs = shard.jobs
    .map((job) => {
      const body = emitYaml([renderScrapeConfig(job, split)], 2);
      // Comments are not quoted by YAML: commentText keeps them on their line whatever the names hold.
      return `  # team: ${commentText(job.team)}; file: ${commentText(job.source.file)}\n${body}\n`;
    })
    .join('');
  return `${header}${global}scrape_configs:\n${jobs}`;
}
