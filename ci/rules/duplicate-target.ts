// duplicate-target: the same target twice.
//   - Within one job (across `targets` and every target group) it is an error: it is always a
//     copy-paste slip, and when the two entries carry different group labels Prometheus scrapes the
//     target twice and stores every series twice. promtool accepts it; promshard does not.
//   - In two jobs on the same shard with the same metrics_path and params it is a warning: the shard
//     scrapes the same endpoint twice (double load on the exporter, double series in the budget).
//     It can be deliberate (two teams, two label sets), hence only a warning. Jobs with a different
//     metrics_path or params scrape something different and are not reported.
// Host names compare case-insensitively.
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import type { ParsedFile } from '../../core/compiler/rule.ts';
import { forEachJob, isRecord, type RecordLike } from './walk.ts';
import { placeOf, quote } from './format.ts';

interface JobRef {
  file: ParsedFile;
  job: RecordLike;
  path: PathSegment[];
  name: string;
}

/** Calls fn with each static target of a job and a function building its path (built only when needed). */
function eachTarget(job: RecordLike, jobPath: PathSegment[], fn: (address: string, path: () => PathSegment[]) => boolean | void): void {
  if (Array.isArray(job.targets)) {
    const list = job.targets;
    for (let i = 0; i < list.length; i++) {
      const a = list[i];
      if (typeof a === 'string' && a !== '' && fn(a, () => [...jobPath, 'targets', i])) return;
    }
  }
  if (Array.isArray(job.target_groups)) {
    const groups = job.target_groups;
    for (let gi = 0; gi < groups.length; gi++) {
      const g = groups[gi];
      if (!isRecord(g) || !Array.isArray(g.targets)) continue;
      const list = g.targets;
      for (let i = 0; i < list.length; i++) {
        const a = list[i];
        if (typeof a === 'string' && a !== '' && fn(a, () => [...jobPath, 'target_groups', gi, 'targets', i])) return;
      }
    }
  }
}

/** Path of the first target of `job` equal to `norm` (the rare path: only for findings). */
function firstPathOf(ref: JobRef, norm: string): PathSegment[] {
  let found: PathSegment[] = ref.path;
  eachTarget(ref.job, ref.path, (a, p) => {
    if (a.toLowerCase() !== norm) return false;
    found = p();
    return true;
  });
  return found;
}

export const duplicateTarget: Rule = {
  id: 'duplicate-target',
  severity: 'warning',
  summary: 'A target listed twice in one job (error), or scraped by two jobs on the same shard (warning).',
  scope: 'shard',
  check(ctx) {
    const jobs: JobRef[] = [];
    // shard + metrics_path + params → normalised address → index in `jobs` of its first job.
    const byScrape = new Map<string, Map<string, number>>();
    forEachJob(ctx.repo, ({ file, job, path, shard }) => {
      const jobIndex = jobs.length;
      const ref: JobRef = { file, job, path, name: typeof job.name === 'string' ? job.name : `#${path[1]}` };
      jobs.push(ref);
      const scrapeKey = `${shard ?? ''}\u0000${typeof job.metrics_path === 'string' ? job.metrics_path : '/metrics'}\u0000${isRecord(job.params) ? JSON.stringify(job.params) : ''}`;
      let seen = byScrape.get(scrapeKey);
      if (!seen) byScrape.set(scrapeKey, (seen = new Map()));
      const targets = seen;
      let reported: Set<string> | undefined;
      eachTarget(job, path, (address, targetPath) => {
        const norm = address.toLowerCase();
        const firstIndex = targets.get(norm);
        if (firstIndex === undefined) {
          targets.set(norm, jobIndex);
          return;
        }
        const other = jobs[firstIndex];
        if (firstIndex === jobIndex) {
          const prior = firstPathOf(ref, norm);
          ctx.report({
            file: file.path,
            path: targetPath(),
            severity: 'error',
            message: `target ${quote(address)} is listed twice in job ${quote(ref.name)} (first at ${placeOf(file, prior)})`,
            hint: 'remove one of the two entries; to give a target extra labels, list it in exactly one target group',
            related: [{ file: file.path, path: prior, message: 'first listed here' }],
          });
          return;
        }
        // Same job name twice is duplicate-job's finding; do not repeat it per target.
        if (other.name === ref.name) return;
        if (reported?.has(norm)) return; // listed twice here too: the error above covers the second
        (reported ??= new Set()).add(norm);
        const otherPath = firstPathOf(other, norm);
        ctx.report({
          file: file.path,
          path: targetPath(),
          message: `target ${quote(address)} is also scraped by job ${quote(other.name)} on shard ${quote(shard ?? '')} (${placeOf(other.file, otherPath)})`,
          hint: 'the shard would scrape this endpoint twice; keep it in one job, or give one job a different metrics_path or params if it really scrapes something else',
          related: [{ file: other.file.path, path: otherPath, message: `also a target of job ${quote(other.name)}` }],
        });
      });
    });
  },
};
