// duplicate-job: job names are unique across the whole repository. The name becomes the `job` label,
// so two jobs with one name would mix their series (and their alerts) on whichever shard has both;
// on different shards they would collide the moment either moves. The first definition (in file path
// order) wins; every later one is reported, naming the first.
import type { Rule } from './rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import type { ParsedFile } from './rule.ts';
import { forEachJob } from './walk.ts';
import { placeOf, quote } from './format.ts';

export const duplicateJob: Rule = {
  id: 'duplicate-job',
  severity: 'error',
  summary: 'Two jobs share a name; job names are unique across the whole repository because they become the job label.',
  check(ctx) {
    const first = new Map<string, { file: ParsedFile; path: PathSegment[] }>();
    forEachJob(ctx.repo, ({ file, job, path }) => {
      if (typeof job.name !== 'string' || job.name === '') return;
      const prior = first.get(job.name);
      if (!prior) {
        first.set(job.name, { file, path });
        return;
      }
      const namePath = [...path, 'name'];
      const priorPath = [...prior.path, 'name'];
      ctx.report({
        file: file.path,
        path: namePath,
        message: `job name ${quote(job.name)} is already used at ${placeOf(prior.file, priorPath)}`,
        hint: 'job names are unique across the repository (they become the job label); rename one, for example by prefixing the team',
        related: [{ file: prior.file.path, path: priorPath, message: `first definition of job ${quote(job.name)}` }],
      });
    });
  },
};
