// Relabel rules as Prometheus reads them, keys in a fixed order: shared by scrape jobs
// (relabel_configs, metric_relabel_configs) and remote_write (write_relabel_configs).
import type { RelabelConfig } from '../../schemas/model.ts';

export function relabelEntries(rules: RelabelConfig[] | undefined): Record<string, unknown>[] {
  return (rules ?? []).map((r) => {
    const out: Record<string, unknown> = {};
    for (const k of ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'] as const) if (r[k] !== undefined) out[k] = r[k];
    return out;
  });
}
