// job-name: a job name is letters, digits, "_", ".", ":" and "-", starting with a letter, a digit or
// "_". Prometheus accepts any string as job_name, but the name becomes the `job` label on every
// series, and appears in alerts, dashboards, findings and rendered comments: a small, unambiguous set
// keeps it readable everywhere and leaves nothing to escape.
import type { Rule } from '../../core/compiler/rule.ts';
import { forEachJob } from './walk.ts';
import { quote } from './format.ts';
import { describeCharacter } from '../../core/text/unsafe-characters.ts';

export const JOB_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const JOB_NAME_CHARACTER = /[A-Za-z0-9_.:-]/;

function firstProblem(name: string): string {
  let position = 0;
  for (const ch of name) {
    position++;
    const ok = position === 1 ? /[A-Za-z0-9_]/.test(ch) : JOB_NAME_CHARACTER.test(ch);
    if (ok) continue;
    const cp = ch.codePointAt(0)!;
    const what = cp > 0x20 && cp < 0x7f ? JSON.stringify(ch) : cp === 0x20 ? 'a space' : describeCharacter(cp);
    return position === 1 && JOB_NAME_CHARACTER.test(ch) ? `starts with ${what}` : `holds ${what} at character ${position}`;
  }
  return 'is empty';
}

export const jobName: Rule = {
  id: 'job-name',
  severity: 'error',
  summary: 'A job name outside letters, digits, "_", ".", ":" and "-" (starting with a letter, digit or "_").',
  scope: 'file',
  check(ctx) {
    forEachJob(ctx.repo, ({ file, job, path }) => {
      if (typeof job.name !== 'string' || job.name === '' || JOB_NAME.test(job.name)) return; // schema reports non-strings and ''
      const fixed = [...job.name].map((c) => (JOB_NAME_CHARACTER.test(c) ? c : '_')).join('').replace(/^[.:-]/, '_');
      ctx.report({
        file: file.path,
        path: [...path, 'name'],
        message: `job name ${quote(job.name)} ${firstProblem(job.name)}: job names are letters, digits, "_", ".", ":" and "-", starting with a letter, a digit or "_"`,
        hint: `write ${quote(fixed)}`,
      });
    });
  },
};
