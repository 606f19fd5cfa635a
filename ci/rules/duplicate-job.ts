// duplicate-job: job names are unique across the whole repository. The name becomes the `job` label,
// so two jobs with one name would mix their series (and their alerts) on whichever shard has both;
// on different shards they would collide the moment either moves. The first definition (in file path
// order) wins; every later one is reported, naming the first.
import type { Rule } from '../../core/compiler/rule.ts';
import type { ParsedFile } from '../../core/compiler/rule.ts';
import { isRecord } from './walk.ts';
import { placeOf, quote } from './format.ts';

export const duplicateJob: Rule = {
  id: 'duplicate-job',
  severity: 'error',
  summary: 'Two jobs share a name; job names are unique across the whole repository because they become the job label.',
  check(ctx) {
    // The walk of forEachJob, without its object per job: this rule sees every job of the repository
    // on every compilation, and the controller compiles on every commit.
    const first = new Map<string, { file: ParsedFile; index: number }>();
    for (const file of ctx.repo.teamFiles) {
      const jobs = isRecord(file.data) ? file.data.jobs : undefined;
      if (!Array.isArray(jobs)) continue;
      for (let i = 0; i < jobs.length; i++) {
        const job: unknown = jobs[i];
        if (!isRecord(job) || typeof job.name !== 'string' || job.name === '') continue;
        const prior = first.get(job.name);
        if (!prior) {
          first.set(job.name, { file, index: i });
          continue;
        }
        const priorPath = ['jobs', prior.index, 'name'];
        ctx.report({
          file: file.path,
          path: ['jobs', i, 'name'],
          message: `job name ${quote(job.name)} is already used at ${placeOf(prior.file, priorPath)}`,
          hint: 'job names are unique across the repository (they become the job label); rename one, for example by prefixing the team',
          related: [{ file: prior.file.path, path: priorPath, message: `first definition of job ${quote(job.name)}` }],
        });
      }
    }
  },
};
