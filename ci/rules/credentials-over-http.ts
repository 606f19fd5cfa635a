// credentials-over-http: basic_auth or authorization on a job that scrapes over plain http (the
// default scheme). The password or token travels in clear text on every scrape, to every target.
// A warning, since some networks are trusted; the fix is almost always `scheme: https`.
import type { Rule } from '../../core/compiler/rule.ts';
import { forEachJob } from './walk.ts';
import { quote } from './format.ts';

export const credentialsOverHttp: Rule = {
  id: 'credentials-over-http',
  severity: 'warning',
  summary: 'basic_auth or authorization on a job scraped over plain http, which sends the credentials in clear text.',
  scope: 'file',
  check(ctx) {
    forEachJob(ctx.repo, ({ file, job, path }) => {
      if (job.scheme !== undefined && job.scheme !== 'http') return;
      for (const key of ['basic_auth', 'authorization'] as const) {
        if (job[key] === undefined) continue;
        ctx.report({
          file: file.path,
          path: [...path, key],
          onKey: true,
          message: `job ${quote(typeof job.name === 'string' ? job.name : '')} sends ${key} credentials over plain http${job.scheme === undefined ? ' (the default scheme)' : ''}`,
          hint: 'set scheme: https on the job (with tls.ca_file if the exporter uses an internal CA)',
        });
      }
    });
  },
};
