// label-name: a label name that is invalid or reserved, in a job's `labels`, a target group's
// `labels`, or a shard's `external_labels`. Reserved: `job` (promshard sets it from the job name),
// `instance` (Prometheus sets it from the target), `team` (promshard sets it from the file's team:,
// so alerts route to the owner), and everything starting with `__` (Prometheus-internal; in a target's
// labels they change how it is scraped, which the job's own keys say explicitly).
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { forEachJob, isRecord } from './walk.ts';
import { quote } from './format.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const RESERVED_REASONS: Record<string, string> = {
  job: 'promshard sets job from the job name',
  instance: 'Prometheus sets instance from the target address',
  team: "promshard sets team from the file's team: key",
};
const RESERVED = new Map(Object.entries(RESERVED_REASONS));

const INTERNAL_HINTS: Record<string, string> = {
  __address__: 'list the address as a target instead',
  __metrics_path__: 'set metrics_path on the job instead',
  __scheme__: 'set scheme on the job instead',
  __scrape_interval__: 'set interval on the job instead',
  __scrape_timeout__: 'set timeout on the job instead',
};

/** Why a label name is refused, with a hint; undefined when it is fine. */
export function labelNameProblem(name: string, where: string): { message: string; hint: string } | undefined {
  if (LABEL_NAME.test(name) && !RESERVED.has(name) && !name.startsWith('__')) return undefined;
  const reason = RESERVED.get(name);
  if (reason) {
    return { message: `label ${quote(name)} in ${where} is reserved: ${reason}`, hint: `remove it, or use another name such as ${quote(name === 'team' ? 'owner_team' : `${name}_name`)}` };
  }
  if (name.startsWith('__')) {
    const hint = (Object.prototype.hasOwnProperty.call(INTERNAL_HINTS, name) ? INTERNAL_HINTS[name] : undefined) ?? (name.startsWith('__param_') ? 'set params on the job instead' : 'remove the leading "__"');
    return { message: `label ${quote(name)} in ${where} is reserved: names starting with "__" are internal to Prometheus`, hint };
  }
  if (!LABEL_NAME.test(name)) {
    const fixed = name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^(?=\d)/, '_');
    return { message: `label name ${quote(name)} in ${where} is invalid: names are letters, digits and "_", not starting with a digit`, hint: `write ${quote(fixed)}` };
  }
  return undefined;
}

export const labelName: Rule = {
  id: 'label-name',
  severity: 'error',
  summary: 'A reserved (job, instance, team, __*) or invalid label name in labels or external_labels.',
  scope: 'file',
  check(ctx) {
    const checkSet = (file: string, set: unknown, path: () => PathSegment[], where: () => string) => {
      if (!isRecord(set)) return;
      for (const name in set) {
        if (LABEL_NAME.test(name) && !RESERVED.has(name) && !name.startsWith('__')) continue;
        const p = labelNameProblem(name, where());
        if (p) ctx.report({ file, path: [...path(), name], onKey: true, message: p.message, hint: p.hint });
      }
    };
    forEachJob(ctx.repo, ({ file, job, path }) => {
      const jobName = () => (typeof job.name === 'string' ? `job ${quote(job.name)}` : 'the job');
      checkSet(file.path, job.labels, () => [...path, 'labels'], () => `the labels of ${jobName()}`);
      if (Array.isArray(job.target_groups)) {
        job.target_groups.forEach((g, gi) => {
          if (isRecord(g)) checkSet(file.path, g.labels, () => [...path, 'target_groups', gi, 'labels'], () => `target group ${gi + 1} of ${jobName()}`);
        });
      }
    });
    const shards = ctx.repo.shardsFile;
    if (shards && isRecord(shards.data) && Array.isArray(shards.data.shards)) {
      shards.data.shards.forEach((s, i) => {
        if (isRecord(s)) checkSet(shards.path, s.external_labels, () => ['shards', i, 'external_labels'], () => `the external_labels of shard ${typeof s.name === 'string' ? quote(s.name) : i + 1}`);
      });
    }
  },
};
