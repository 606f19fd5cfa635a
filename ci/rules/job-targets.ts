// job-targets: a job needs exactly one source of targets — static (`targets` and/or `target_groups`,
// which may be combined) or `discovery`. With none, the job scrapes nothing. With both, the static
// targets would be silently dropped: a rendered job is either static_configs or service discovery
// (discovered targets get their labels by relabelling, static ones by static_configs), and budgets
// count static targets only.
import type { Rule } from '../../core/compiler/rule.ts';
import { forEachJob } from './walk.ts';
import { quote } from './format.ts';

export const jobTargets: Rule = {
  id: 'job-targets',
  severity: 'error',
  summary: 'A job with no source of targets, or with static targets and discovery at once.',
  scope: 'file',
  check(ctx) {
    forEachJob(ctx.repo, ({ file, job, path }) => {
      const name = typeof job.name === 'string' ? quote(job.name) : `at ${path.join('.')}`;
      const hasStatic = job.targets !== undefined || job.target_groups !== undefined;
      const hasDiscovery = job.discovery !== undefined;
      if (!hasStatic && !hasDiscovery) {
        ctx.report({
          file: file.path,
          path: [...path, 'name'],
          message: `job ${name} has no targets: it needs targets, target_groups or discovery`,
          hint: 'list static targets (targets: [host:port]) or add discovery: {dns: ...} / {kubernetes: ...}',
        });
      } else if (hasStatic && hasDiscovery) {
        const staticKey = job.targets !== undefined ? 'targets' : 'target_groups';
        ctx.report({
          file: file.path,
          path: [...path, 'discovery'],
          onKey: true,
          message: `job ${name} has both ${staticKey} and discovery; a job is rendered either from static targets or from service discovery, so the static targets would be ignored`,
          hint: 'split it into two jobs: one with the static targets, one with discovery',
        });
      }
    });
  },
};
