// duplicate-target: the same target twice.
//   - Within one job (across `targets` and every target group) it is an error: it is always a
//     copy-paste slip, and when the two entries carry different group labels Prometheus scrapes the
//     target twice and stores every series twice. promtool accepts it; promshard does not.
//   - In two jobs on the same shard with the same metrics_path and params it is a warning: the shard
//     scrapes the same endpoint twice (double load on the exporter, double series in the budget).
//     It can be deliberate (two teams, two label sets), hence only a warning. Jobs with a different
//     metrics_path or params scrape something different and are not reported.
// Host names compare case-insensitively.
import type { Rule } from './rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import type { ParsedFile } from './rule.ts';
import { forEachJob, isRecord } from './walk.ts';
import { placeOf, quote } from './format.ts';

interface Seen {
  file: ParsedFile;
  path: PathSegment[];
  job: string;
}

export const duplicateTarget: Rule = {
  id: 'duplicate-target',
  severity: 'warning',
  summary: 'A target listed twice in one job (error), or scraped by two jobs on the same shard (warning).',
  check(ctx) {
    const acrossJobs = new Map<string, Seen>();
    forEachJob(ctx.repo, ({ file, job, path, shard }) => {
      const jobName = typeof job.name === 'string' ? job.name : `#${path[1]}`;
      const scrapeKey = `${shard ?? ''}\u0000${typeof job.metrics_path === 'string' ? job.metrics_path : '/metrics'}\u0000${isRecord(job.params) ? JSON.stringify(job.params) : ''}\u0000`;
      const inJob = new Map<string, PathSegment[]>();
      const visit = (address: unknown, targetPath: PathSegment[]) => {
        if (typeof address !== 'string' || address === '') return;
        const norm = address.toLowerCase();
        const prior = inJob.get(norm);
        if (prior) {
          ctx.report({
            file: file.path,
            path: targetPath,
            severity: 'error',
            message: `target ${quote(address)} is listed twice in job ${quote(jobName)} (first at ${placeOf(file, prior)})`,
            hint: 'remove one of the two entries; to give a target extra labels, list it in exactly one target group',
            related: [{ file: file.path, path: prior, message: 'first listed here' }],
          });
          return;
        }
        inJob.set(norm, targetPath);
        const key = scrapeKey + norm;
        const other = acrossJobs.get(key);
        if (!other) {
          acrossJobs.set(key, { file, path: targetPath, job: jobName });
        } else if (other.job !== jobName) {
          // Same job name twice is duplicate-job's finding; do not repeat it per target.
          ctx.report({
            file: file.path,
            path: targetPath,
            message: `target ${quote(address)} is also scraped by job ${quote(other.job)} on shard ${quote(shard ?? '')} (${placeOf(other.file, other.path)})`,
            hint: 'the shard would scrape this endpoint twice; keep it in one job, or give one job a different metrics_path or params if it really scrapes something else',
            related: [{ file: other.file.path, path: other.path, message: `also a target of job ${quote(other.job)}` }],
          });
        }
      };
      if (Array.isArray(job.targets)) job.targets.forEach((t, i) => visit(t, [...path, 'targets', i]));
      if (Array.isArray(job.target_groups)) {
        job.target_groups.forEach((g, gi) => {
          if (isRecord(g) && Array.isArray(g.targets)) g.targets.forEach((t, i) => visit(t, [...path, 'target_groups', gi, 'targets', i]));
        });
      }
    });
  },
};
