// shard-over-budget: a shard's static targets add up to more than its budget (budget.max_targets).
// The budget is what the shard's Prometheus is sized for; going past it is how a shard falls over.
// Reported on the shard's entry in shards.yaml, naming the total and the files that contribute most.
// Only static targets (targets, target_groups) count: targets of discovery jobs are not known until
// Prometheus resolves them. A split shard (split: N) runs N Prometheus pairs, each sized by the budget,
// so its static targets may add up to N times max_targets; `plan` estimates each split's own share
// (ci/plan/split-estimate.ts), which a skewed hash can push over the budget before the total is.
import type { Rule } from '../../core/compiler/rule.ts';
import type { ParsedFile } from '../../core/compiler/rule.ts';
import { isRecord, shardsByName } from './walk.ts';
import { quote } from './format.ts';

function staticTargetCount(job: unknown): number {
  if (!isRecord(job)) return 0;
  let n = Array.isArray(job.targets) ? job.targets.length : 0;
  if (Array.isArray(job.target_groups)) for (const g of job.target_groups) if (isRecord(g) && Array.isArray(g.targets)) n += g.targets.length;
  return n;
}

export const shardOverBudget: Rule = {
  id: 'shard-over-budget',
  severity: 'error',
  summary: "A shard whose static targets add up to more than its budget's max_targets.",
  scope: 'shard',
  check(ctx) {
    const shardsFile = ctx.repo.shardsFile;
    if (!shardsFile) return;
    const shards = shardsByName(ctx.repo);
    const contributions = new Map<string, { file: ParsedFile; count: number }[]>();
    for (const file of ctx.repo.teamFiles) {
      if (!isRecord(file.data) || typeof file.data.shard !== 'string' || !Array.isArray(file.data.jobs)) continue;
      if (!shards.has(file.data.shard)) continue;
      let count = 0;
      for (const job of file.data.jobs) count += staticTargetCount(job);
      if (count === 0) continue;
      let list = contributions.get(file.data.shard);
      if (!list) contributions.set(file.data.shard, (list = []));
      list.push({ file, count });
    }
    for (const [name, list] of contributions) {
      const { shard, path } = shards.get(name)!;
      const perPrometheus = isRecord(shard.budget) ? shard.budget.max_targets : undefined;
      if (typeof perPrometheus !== 'number') continue;
      const splits = typeof shard.split === 'number' && Number.isInteger(shard.split) && shard.split > 1 ? shard.split : 1;
      const budget = perPrometheus * splits;
      const total = list.reduce((s, c) => s + c.count, 0);
      if (total <= budget) continue;
      const top = [...list].sort((a, b) => b.count - a.count || (a.file.path < b.file.path ? -1 : 1)).slice(0, 3);
      const more = list.length > top.length ? `, and ${list.length - top.length} more file(s)` : '';
      ctx.report({
        file: shardsFile.path,
        path,
        message: `shard ${quote(name)} has ${total} static targets, over its budget of ${budget} (budget.max_targets${splits > 1 ? ` ${perPrometheus} × split ${splits}` : ''}) by ${total - budget}; most from ${top.map((c) => `${c.file.path} (${c.count})`).join(', ')}${more}`,
        hint: 'move some jobs to another shard (their shard: key), remove targets, or ask the observability team to raise the budget or split the shard',
        related: top.map((c) => ({ file: c.file.path, path: ['shard'], message: `${c.count} static target(s) on shard ${quote(name)}` })),
      });
    }
  },
};
