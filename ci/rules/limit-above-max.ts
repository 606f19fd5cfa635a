// limit-above-max: a limit above what the shard allows. Limits (sample_limit, label_limit, …) are what
// keeps one exporter's cardinality explosion from taking its whole shard down; max_limits (the
// shard's, key by key, else shards.yaml defaults.max_limits) is the ceiling the observability team
// sized the shard for. A limit of 0 means "no limit" in Prometheus, so it is above any maximum.
// Checked for jobs' limits, and for limits a shard (or defaults) hands down to its jobs.
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { forEachJob, isRecord, shardDefaults, shardsByName, type RecordLike } from './walk.ts';
import { quote } from './format.ts';

export const LIMIT_KEYS = ['sample_limit', 'label_limit', 'label_name_length_limit', 'label_value_length_limit', 'target_limit'] as const;

function maxima(shard: RecordLike | undefined, defaults: RecordLike): { values: Record<string, number>; from: Record<string, string> } {
  const values: Record<string, number> = {};
  const from: Record<string, string> = {};
  for (const [layer, name] of [[defaults.max_limits, 'defaults.max_limits'], [shard?.max_limits, 'the shard\'s max_limits']] as const) {
    if (!isRecord(layer)) continue;
    for (const k of LIMIT_KEYS) if (typeof layer[k] === 'number') (values[k] = layer[k]), (from[k] = name);
  }
  return { values, from };
}

function exceeds(value: number, max: number): boolean {
  return (value === 0 && max > 0) || value > max;
}

export const limitAboveMax: Rule = {
  id: 'limit-above-max',
  severity: 'error',
  summary: "A job's limit (sample_limit, label_limit, …) above the shard's max_limits, or 0 (no limit) where a maximum applies.",
  scope: 'file',
  check(ctx) {
    const defaults = shardDefaults(ctx.repo);
    const shards = shardsByName(ctx.repo);
    const perShard = new Map<string, ReturnType<typeof maxima>>();
    const maxFor = (name: string | undefined) => {
      const key = name ?? '';
      let m = perShard.get(key);
      if (!m) perShard.set(key, (m = maxima(name !== undefined ? shards.get(name)?.shard : undefined, defaults)));
      return m;
    };
    const describe = (v: number) => (v === 0 ? '0 (no limit)' : String(v));

    forEachJob(ctx.repo, ({ file, job, path, shard }) => {
      if (!isRecord(job.limits)) return;
      const { values, from } = maxFor(shard !== undefined && shards.has(shard) ? shard : undefined);
      for (const k of LIMIT_KEYS) {
        const v = job.limits[k];
        if (typeof v !== 'number' || values[k] === undefined || !exceeds(v, values[k])) continue;
        ctx.report({
          file: file.path,
          path: [...path, 'limits', k],
          message: `job ${quote(typeof job.name === 'string' ? job.name : '')} ${k} ${describe(v)} is above the maximum ${values[k]} allowed on shard ${quote(shard ?? '')} (${from[k]})`,
          hint: `lower ${k} to at most ${values[k]}; if the exporter really needs more, reduce its series with metric_relabel_configs or ask the observability team to raise the shard's max_limits`,
        });
      }
    });

    // Limits handed down by shards.yaml itself.
    const file = ctx.repo.shardsFile;
    if (!file) return;
    const defaultMax = maxima(undefined, defaults);
    if (isRecord(defaults.limits)) {
      for (const k of LIMIT_KEYS) {
        const v = defaults.limits[k];
        const max = defaultMax.values[k];
        if (typeof v === 'number' && max !== undefined && exceeds(v, max)) {
          ctx.report({ file: file.path, path: ['defaults', 'limits', k], message: `defaults limits ${k} ${describe(v)} is above defaults.max_limits ${k} ${max}`, hint: `lower it to at most ${max}` });
        }
      }
    }
    for (const [name, { shard, path }] of shards) {
      const { values, from } = maxFor(name);
      const own = isRecord(shard.limits) ? shard.limits : {};
      for (const k of LIMIT_KEYS) {
        const max = values[k];
        if (max === undefined) continue;
        const v = own[k];
        if (typeof v === 'number') {
          if (exceeds(v, max)) ctx.report({ file: file.path, path: [...path, 'limits', k] as PathSegment[], message: `shard ${quote(name)} limits ${k} ${describe(v)} is above its maximum ${max} (${from[k]})`, hint: `lower it to at most ${max}` });
        } else if (from[k] !== 'defaults.max_limits' && isRecord(defaults.limits) && typeof defaults.limits[k] === 'number' && exceeds(defaults.limits[k], max)) {
          // The shard lowers the maximum below the default its jobs inherit.
          ctx.report({
            file: file.path,
            path: [...path, 'max_limits', k],
            message: `shard ${quote(name)} max_limits ${k} ${max} is below the ${describe(defaults.limits[k])} its jobs inherit from defaults.limits`,
            hint: `set limits.${k} on the shard to at most ${max}`,
          });
        }
      }
    }
  },
};
