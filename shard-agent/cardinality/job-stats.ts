// Cheap per-job statistics from the series every target gets for free, plus the TSDB head summary.
// Four small queries per cycle, whatever the size of the Prometheus:
//   sum by (job) (scrape_samples_post_metric_relabeling)   series kept per scrape (≈ current series)
//   max by (job) (scrape_samples_post_metric_relabeling)   samples of the biggest target
//   sum by (job) (scrape_series_added)                     new series per scrape (churn)
//   count by (job) (up)                                    targets
//   GET /api/v1/status/tsdb                                head series (includes dead series)
import type { QueryClient, TsdbStatus } from './prometheus-queries.ts';

export interface JobStats {
  job: string;
  targets: number;
  /** Series kept after metric relabelling, summed over the job's targets (last scrape). */
  series: number;
  /** Largest samples-per-scrape of one target (what sample_limit is compared to). */
  maxSamplesPerTarget: number;
  /** New series in the last scrape, summed over targets. */
  seriesAdded: number;
  /** seriesAdded / series (0 when series is 0). */
  churnRatio: number;
}

export interface HeadStats {
  numSeries: number;
  numLabelPairs: number;
  chunkCount: number;
  /** Top metric names by head series (cached ~30 s by Prometheus, dead series included). */
  topMetrics: { name: string; value: number }[];
  topLabels: { name: string; value: number }[];
}

export async function collectJobStats(client: QueryClient): Promise<Map<string, JobStats>> {
  const [sum, max, added, up] = await Promise.all([
    client.instant('sum by (job) (scrape_samples_post_metric_relabeling)', 'job-stats'),
    client.instant('max by (job) (scrape_samples_post_metric_relabeling)', 'job-stats'),
    client.instant('sum by (job) (scrape_series_added)', 'job-stats'),
    client.instant('count by (job) (up)', 'job-stats'),
  ]);
  const jobs = new Map<string, JobStats>();
  const get = (job: string) => {
    let s = jobs.get(job);
    if (!s) {
      s = { job, targets: 0, series: 0, maxSamplesPerTarget: 0, seriesAdded: 0, churnRatio: 0 };
      jobs.set(job, s);
    }
    return s;
  };
  for (const r of up) if (r.metric.job !== undefined) get(r.metric.job).targets = r.value;
  for (const r of sum) if (r.metric.job !== undefined) get(r.metric.job).series = r.value;
  for (const r of max) if (r.metric.job !== undefined) get(r.metric.job).maxSamplesPerTarget = r.value;
  for (const r of added) if (r.metric.job !== undefined) get(r.metric.job).seriesAdded = r.value;
  for (const s of jobs.values()) s.churnRatio = s.series > 0 ? s.seriesAdded / s.series : 0;
  return jobs;
}

export async function collectHeadStats(client: QueryClient): Promise<HeadStats> {
  const t: TsdbStatus = await client.tsdbStatus();
  return {
    numSeries: t.headStats?.numSeries ?? 0,
    numLabelPairs: t.headStats?.numLabelPairs ?? 0,
    chunkCount: t.headStats?.chunkCount ?? 0,
    topMetrics: t.seriesCountByMetricName ?? [],
    topLabels: t.labelValueCountByLabelName ?? [],
  };
}
