// Label-level measurements, all as PromQL *instant* queries so that only current series count (see
// docs/cardinality.md, "Why instant queries"):
//
// 1. label pass, one query per label name L (names from GET /api/v1/labels over the last 5 minutes):
//      topk(T, count by (job, __name__) (count by (job, __name__, L) ({L!=""})) > F)
//    → for every (job, metric) where L has more than F distinct values: that number. Prometheus only
//    touches series that carry L, and the answer is at most T rows.
// 2. detail, one query per candidate (job, metric, L):
//      series of the metric, series carrying L, and a sample of values (`bottomk(S, count by (L) (…))`:
//      the least frequent values, i.e. the long tail that makes the cardinality; at most S rows) — all
//      in one request joined with `or`.
// 3. fix values, one query per flag: every current value of the label in the metric
//      bottomk(V, count by (L) (…))
//    (all of them up to V; the fix is computed and simulated on these, see fix-suggestion.ts). Not
//    GET /api/v1/label/L/values: that reads the head index, which keeps the values of dead series for
//    hours, so after a partial fix it would keep proposing rules for values that no longer exist.
// 4. fix estimate, one query per flag: the series count after the suggested relabelling
//    (fix-suggestion.ts builds it).
import { promqlString, type QueryClient } from './prometheus-queries.ts';

export const LABEL_PASS_TOPK = 500;
/** Values sampled per candidate: the least frequent ones (bottomk), i.e. the long tail that makes the cardinality. */
export const SAMPLE_SIZE = 24;
/** Values fetched per flag to compute and check its fix; a label with more is checked on this many. */
export const MAX_FIX_VALUES = 50_000;

export interface LabelMeasurement {
  job: string;
  metric: string;
  label: string;
  distinct: number;
}

export function metricSelector(job: string, metric: string, extra = ''): string {
  return `{__name__=${promqlString(metric)}, job=${promqlString(job)}${extra}}`;
}

export async function measureLabel(client: QueryClient, label: string, floor: number, topk = LABEL_PASS_TOPK): Promise<LabelMeasurement[]> {
  const q = `topk(${topk}, count by (job, __name__) (count by (job, __name__, ${label}) ({${label}!=""})) > ${floor})`;
  const rows = await client.instant(q, 'label-pass');
  return rows
    .filter((r) => r.metric.job !== undefined && r.metric.__name__ !== undefined)
    .map((r) => ({ job: r.metric.job!, metric: r.metric.__name__!, label, distinct: r.value }));
}

export interface LabelDetail {
  metricSeries: number;
  seriesAffected: number;
  /** Sampled values (distinct), least frequent first. */
  sample: string[];
}

export async function labelDetail(client: QueryClient, m: LabelMeasurement, perSide = SAMPLE_SIZE): Promise<LabelDetail> {
  const sel = metricSelector(m.job, m.metric);
  const withLabel = metricSelector(m.job, m.metric, `, ${m.label}!=""`);
  const L = m.label;
  const q =
    `label_replace(count(${sel}), "promshard_q", "series", "", "") or ` +
    `label_replace(count(${withLabel}), "promshard_q", "affected", "", "") or ` +
    `bottomk(${perSide}, count by (${L}) (${withLabel}))`;
  const rows = await client.instant(q, 'label-detail');
  const out: LabelDetail = { metricSeries: 0, seriesAffected: 0, sample: [] };
  const seen = new Set<string>();
  for (const r of rows) {
    const kind = r.metric.promshard_q;
    if (kind === 'series') out.metricSeries = r.value;
    else if (kind === 'affected') out.seriesAffected = r.value;
    else {
      const v = r.metric[L];
      if (v !== undefined && !seen.has(v)) {
        seen.add(v);
        out.sample.push(v);
      }
    }
  }
  return out;
}

/** Every current value of the label in the metric (at most `max`). */
export async function currentValues(client: QueryClient, m: LabelMeasurement, max = MAX_FIX_VALUES): Promise<string[]> {
  const rows = await client.instant(`bottomk(${max}, count by (${m.label}) (${metricSelector(m.job, m.metric, `, ${m.label}!=""`)}))`, 'fix-values');
  const out: string[] = [];
  for (const r of rows) {
    const v = r.metric[m.label];
    if (v !== undefined) out.push(v);
  }
  return out;
}

export async function seriesAfterFix(client: QueryClient, afterQuery: string): Promise<number> {
  const rows = await client.instant(afterQuery, 'fix-estimate');
  return rows[0]?.value ?? 0;
}
