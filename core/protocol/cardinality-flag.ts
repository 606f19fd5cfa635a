// The wire type of a cardinality flag: raised by a shard agent's cardinality analyzer, served on
// GET /v1/flags and POST /v1/cardinality/analyze, aggregated by the controller. Both sides import it.
import type { CardinalityThresholds, RelabelConfig } from '../../schemas/model.ts';

/** Why a label was flagged. The first reason in `reasons` is the strongest and is copied to `reason`. */
export type CardinalityReason =
  | 'id-pattern' // most sampled values look like identifiers (uuid, hash, numeric id, ...)
  | 'unique-per-series' // (almost) every series of the metric has its own value of the label
  | 'growth' // distinct values rose in each of the last `growth_cycles` analysis cycles
  | 'high-count'; // more distinct values than `max_label_values` allows for a label of this name

export type CardinalitySeverity = 'warning' | 'critical';

/** Value shapes recognised by the classifier (shard-agent/cardinality/value-classifier.ts). */
export type ValuePattern =
  | 'uuid'
  | 'ulid'
  | 'hex'
  | 'numeric-id'
  | 'timestamp'
  | 'ip'
  | 'email'
  | 'url-path-id'
  | 'long-string';

export interface CardinalityFix {
  /** labeldrop: remove the label; replace: rewrite its values to a bounded set. */
  kind: 'labeldrop' | 'replace';
  /**
   * YAML ready to paste into the job of the team file: a `metric_relabel_configs:` block holding the
   * job's whole resulting list (its current rules, unchanged and in order, then the new ones), so it
   * replaces the job's key rather than adding a second one.
   */
  snippet: string;
  /** The new rules only, structured (keys among source_labels, separator, regex, modulus, target_label, replacement, action). Never a rule the job already runs. */
  rules: RelabelConfig[];
  /** The job's whole list after the fix: its `existingRules` current rules first, then `rules`. */
  resultingRules: RelabelConfig[];
  /** How many of `resultingRules` the job already runs (read from the configuration Prometheus has loaded). */
  existingRules: number;
  /** Distinct values of the label after the fix, by simulating the rules on its current values (0 for a labeldrop). */
  residualValues: number;
  /** Values the simulation ran on: all current values of the label, unless there were more than the agent fetches. */
  valuesExamined: number;
  /** False when the residual would still be flagged: a partial fix (the snippet and note say so). */
  complete: boolean;
  /** Up to three values left after the fix (what a partial fix did not normalise). */
  residualExamples: string[];
  /** Series of the metric that would disappear, measured with PromQL on the current series. */
  estimatedSeriesSaved: number;
  /** Series of the metric before / after the fix (same measurement). */
  seriesBefore: number;
  seriesAfter: number;
  /** Caveats a human should read before applying (e.g. samples colliding after a labeldrop). */
  note: string;
}

export interface CardinalityFlag {
  /** Stable key: `${shard}/${job}/${metric}/${label}`. */
  id: string;
  shard: string;
  job: string;
  /** Owning team from the desired document's owners map; "unknown" when the job is not in it. */
  team: string;
  /** Team file, relative to the folder that holds shards.yaml (`teams/<team>/<file>.yaml`); "" when unknown. */
  file: string;
  /** Line of the job in `file`; 0 when unknown. */
  line: number;
  metric: string;
  label: string;
  /** Distinct values of the label within the metric of the job (current series only). */
  distinctValues: number;
  /** Series of the metric that carry the label. */
  seriesAffected: number;
  /** All current series of the metric in the job. */
  metricSeries: number;
  /** distinctValues / metricSeries (1 = a value per series). */
  valueRatio: number;
  /** Most frequent pattern among the sampled values, null if none matched. */
  pattern: ValuePattern | null;
  /** Share (0..1) of the sampled values that match `pattern`. */
  patternShare: number;
  sampleSize: number;
  /** Up to three example values, each truncated to 64 characters. */
  examples: string[];
  severity: CardinalitySeverity;
  reason: CardinalityReason;
  reasons: CardinalityReason[];
  /** Consecutive analysis cycles in which distinct values rose. */
  risingCycles: number;
  /** ISO 8601; kept across cycles while the flag stays raised. */
  firstSeen: string;
  lastSeen: string;
  /** The thresholds the flag was judged against (job's own or defaults). */
  thresholds: Required<CardinalityThresholds>;
  fix: CardinalityFix;
}

/**
 * Defaults used when a job has no thresholds of its own (documented in docs/cardinality.md).
 * The compiler may import these so that CI and the agent agree.
 */
export const DEFAULT_CARDINALITY_THRESHOLDS: Readonly<Required<CardinalityThresholds>> = Object.freeze({
  max_label_values: 1000,
  max_value_ratio: 0.9,
  max_series_per_job: 20000,
  max_churn_ratio: 0.2,
  growth_cycles: 3,
  enabled: true,
});
