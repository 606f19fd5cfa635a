// Visits every relabel rule of every job: relabel_configs (targets, before the scrape) and
// metric_relabel_configs (samples, after it). Shared by relabel-config and relabel-regex.
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import type { ParsedRepository, ParsedFile } from '../../core/compiler/rule.ts';
import { forEachJob, isRecord, type RecordLike } from './walk.ts';

export interface RelabelVisit {
  file: ParsedFile;
  jobName: string;
  list: 'relabel_configs' | 'metric_relabel_configs';
  index: number;
  rule: RecordLike;
  path: PathSegment[];
}

export function forEachRelabelRule(repo: ParsedRepository, fn: (v: RelabelVisit) => void): void {
  forEachJob(repo, ({ file, job, path }) => {
    const jobName = typeof job.name === 'string' ? job.name : '';
    for (const list of ['relabel_configs', 'metric_relabel_configs'] as const) {
      const rules = job[list];
      if (!Array.isArray(rules)) continue;
      rules.forEach((rule, index) => {
        if (isRecord(rule)) fn({ file, jobName, list, index, rule, path: [...path, list, index] });
      });
    }
  });
}
