// Visits every relabel rule of every job: relabel_configs (targets, before the scrape) and
// metric_relabel_configs (samples, after it); and shards.yaml's remote_write write_relabel_configs
// (samples, before they are sent), fleet-level and per shard. Shared by relabel-config and relabel-regex.
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import type { ParsedRepository, ParsedFile } from '../../core/compiler/rule.ts';
import { forEachJob, forEachRemoteWrite, isRecord, type RecordLike } from './walk.ts';
import { quote } from './format.ts';

export interface RelabelVisit {
  file: ParsedFile;
  jobName: string;
  /** For messages: `job "x"` or `remote_write "name"`. */
  owner: string;
  list: 'relabel_configs' | 'metric_relabel_configs' | 'write_relabel_configs';
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
        if (isRecord(rule)) fn({ file, jobName, owner: `job ${quote(jobName)}`, list, index, rule, path: [...path, list, index] });
      });
    }
  });
  const shardsFile = repo.shardsFile;
  if (!shardsFile) return;
  forEachRemoteWrite(shardsFile.data, ({ entry, path }) => {
    const rules = entry.write_relabel_configs;
    if (!Array.isArray(rules)) return;
    const name = typeof entry.name === 'string' ? entry.name : typeof entry.url === 'string' ? entry.url : '';
    rules.forEach((rule, index) => {
      if (isRecord(rule)) fn({ file: shardsFile, jobName: '', owner: `remote_write ${quote(name)}`, list: 'write_relabel_configs', index, rule, path: [...path, 'write_relabel_configs', index] });
    });
  });
}
