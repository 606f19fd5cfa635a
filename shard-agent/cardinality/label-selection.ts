// Decides which label names the (expensive) label pass scans this cycle, from cheap index-only facts.
//
// A label's distinct values within one (job, metric) can never exceed its distinct values in the
// whole head. So a label whose global count is at or below the lowest bar it could be flagged at is
// skipped, unless its global count rose since the last cycle (it might be growing) or it mattered
// last cycle (a flag or candidate to confirm or clear). On the first cycle there is no previous count,
// so a small label is first scanned when its count rises (growth detection starts one cycle later).
//
// Global counts come from GET /api/v1/status/tsdb (top-10 labels by distinct values, computed by
// Prometheus from its index and cached ~30 s) and, for the other labels, from
// GET /api/v1/label/<name>/values (index only, no chunk is read). Because every label outside the
// top 10 has at most as many values as the 10th, those responses are bounded by the 10th's count.
// When the top-10 list is empty (the first ~30 s after Prometheus starts), values are fetched for
// every label instead.

export interface LabelSelectionInput {
  names: readonly string[];
  /** Global distinct-value counts known for some labels (tsdb top-10 and label-values responses). */
  globalCounts: ReadonlyMap<string, number>;
  /** Global counts seen last cycle. */
  previousCounts: ReadonlyMap<string, number>;
  /** Labels that produced candidates or flags last cycle. */
  priority: ReadonlySet<string>;
  /** The lowest distinct-value count at which `label` could be flagged by count (any job's thresholds). */
  minBar: (label: string) => number;
  /** Labels at or below this many values are never considered (MIN_DISTINCT_VALUES). */
  floor: number;
}

export interface LabelSelection {
  scan: string[];
  /** Labels skipped because their global count rules them out. */
  skipped: string[];
}

export function selectLabels(input: LabelSelectionInput): LabelSelection {
  const scan: string[] = [];
  const skipped: string[] = [];
  for (const name of input.names) {
    const count = input.globalCounts.get(name);
    if (count === undefined || input.priority.has(name)) {
      scan.push(name); // unknown global count: scan to be safe
      continue;
    }
    if (count <= input.floor) {
      skipped.push(name);
      continue;
    }
    const prev = input.previousCounts.get(name);
    const rising = prev !== undefined && count > prev;
    if (count > input.minBar(name) || rising) scan.push(name);
    else skipped.push(name);
  }
  return { scan, skipped };
}
