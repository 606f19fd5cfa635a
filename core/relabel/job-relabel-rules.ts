// The metric_relabel_configs each job runs now, read from the configuration Prometheus has loaded
// (GET /api/v1/status/config). A fix is built on top of them: the suggestion is the job's whole
// resulting list (so it pastes over the existing key instead of adding a second one), and a rule the
// job already runs is never offered again.
//
// Prometheus prints every rule with its defaults filled in (`separator: ;`, `regex: (.*)`,
// `replacement: $1`, `action: replace`). The promshard renderer copies a team's rules key by key, so
// removing the defaults gives back the rules as the team wrote them, up to keys that only restated a
// default; `action` is always kept so each rule says what it does.
import { parse } from 'yaml';
import type { RelabelConfig } from '../../schemas/model.ts';

const DEFAULTS: Partial<Record<keyof RelabelConfig, unknown>> = { separator: ';', regex: '(.*)', replacement: '$1' };
/** The keys of a rule in promshard's team-file format, in the order the docs use. */
export const RELABEL_KEY_ORDER: readonly (keyof RelabelConfig)[] = ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'];

/** A rule without the keys that only restate Prometheus's defaults, keys in a fixed order. */
export function normaliseRule(rule: RelabelConfig): RelabelConfig {
  const out: Record<string, unknown> = {};
  for (const k of RELABEL_KEY_ORDER) {
    let v: unknown = rule[k];
    if (v === undefined || v === null) continue;
    if (k === 'source_labels' && Array.isArray(v) && v.length === 0) continue;
    if (k === 'regex' || k === 'replacement' || k === 'separator') v = String(v);
    if (k === 'modulus') v = Number(v);
    if (k === 'action') v = String(v).toLowerCase();
    if (DEFAULTS[k] !== undefined && v === DEFAULTS[k]) continue;
    out[k] = v;
  }
  if (out.action === undefined) out.action = 'replace';
  return out as RelabelConfig;
}

/** Same effect in Prometheus (after defaults are applied). */
export function sameRule(a: RelabelConfig, b: RelabelConfig): boolean {
  return JSON.stringify(normaliseRule(a)) === JSON.stringify(normaliseRule(b));
}

/** job name → its metric_relabel_configs, normalised, from a Prometheus configuration's YAML. */
export function metricRelabelRulesByJob(configYaml: string): Map<string, RelabelConfig[]> {
  const cfg = parse(configYaml) as { scrape_configs?: { job_name?: string; metric_relabel_configs?: Record<string, unknown>[] }[] } | null;
  const out = new Map<string, RelabelConfig[]>();
  for (const sc of cfg?.scrape_configs ?? []) {
    if (!sc?.job_name) continue;
    const rules = (sc.metric_relabel_configs ?? []).map((r) => {
      const kept: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r ?? {})) if ((RELABEL_KEY_ORDER as readonly string[]).includes(k)) kept[k] = v;
      return normaliseRule(kept as RelabelConfig);
    });
    out.set(sc.job_name, rules);
  }
  return out;
}
