// Nearest-rank percentile for bench figures: the smallest sample with at least p % of the samples at
// or below it (so p50 and p99 are measured values, never interpolated); NaN when there are none.

/** `sorted` ascending; `p` in 0..100. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
