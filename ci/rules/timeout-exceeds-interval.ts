// timeout-exceeds-interval: a scrape timeout longer than its interval. Prometheus refuses the whole
// configuration ("scrape timeout greater than scrape interval"), so one job would stop its shard from
// reloading. Checked for every job that sets its own timeout (against its interval, else its
// shard's, else defaults'), for every shard (its timeout and interval, each inherited from defaults
// when unset), and for shards.yaml's defaults. A job that sets only an interval shorter than the
// inherited timeout is fine: promshard caps the inherited timeout at the job's interval.
import type { Rule } from '../../core/compiler/rule.ts';
import { parseDurationMs } from '../../core/time/duration.ts';
import { BUILTIN_DEFAULTS } from '../../core/compiler/effective-settings.ts';
import { forEachJob, isRecord, shardDefaults } from './walk.ts';
import { quote } from './format.ts';

function ms(v: unknown): number | undefined {
  return typeof v === 'string' ? parseDurationMs(v) : undefined;
}

export const timeoutExceedsInterval: Rule = {
  id: 'timeout-exceeds-interval',
  severity: 'error',
  summary: 'A scrape timeout longer than the scrape interval it applies to; Prometheus refuses such a configuration.',
  scope: 'file',
  check(ctx) {
    const defaults = shardDefaults(ctx.repo);
    const defInterval = typeof defaults.interval === 'string' ? defaults.interval : BUILTIN_DEFAULTS.interval;
    const defTimeout = typeof defaults.timeout === 'string' ? defaults.timeout : BUILTIN_DEFAULTS.timeout;
    const shardsFile = ctx.repo.shardsFile;

    // defaults: its own pair (only when one of them is written there).
    if (shardsFile && (defaults.interval !== undefined || defaults.timeout !== undefined)) {
      const t = ms(defTimeout);
      const i = ms(defInterval);
      if (t !== undefined && i !== undefined && t > i) {
        const onTimeout = defaults.timeout !== undefined;
        ctx.report({
          file: shardsFile.path,
          path: ['defaults', onTimeout ? 'timeout' : 'interval'],
          message: `defaults timeout ${quote(defTimeout)} exceeds defaults interval ${quote(defInterval)}${onTimeout ? '' : ' (timeout is the built-in default)'}`,
          hint: `lower timeout to at most ${defInterval}, or raise interval`,
        });
      }
    }

    // shards: only when the shard itself writes interval or timeout (otherwise the defaults finding covers it).
    const effective = new Map<string, { interval: string; timeout: string }>();
    const shardEntries = shardsFile && isRecord(shardsFile.data) && Array.isArray(shardsFile.data.shards) ? shardsFile.data.shards : [];
    shardEntries.forEach((s: unknown, idx: number) => {
      if (!isRecord(s)) return;
      const interval = typeof s.interval === 'string' ? s.interval : defInterval;
      const timeout = typeof s.timeout === 'string' ? s.timeout : defTimeout;
      if (typeof s.name === 'string' && !effective.has(s.name)) effective.set(s.name, { interval, timeout });
      if (s.interval === undefined && s.timeout === undefined) return;
      const t = ms(timeout);
      const i = ms(interval);
      if (t === undefined || i === undefined || t <= i) return;
      const onTimeout = s.timeout !== undefined;
      const name = typeof s.name === 'string' ? quote(s.name) : String(idx + 1);
      ctx.report({
        file: shardsFile!.path,
        path: ['shards', idx, onTimeout ? 'timeout' : 'interval'],
        message: `shard ${name} timeout ${quote(timeout)}${onTimeout ? '' : ' (from defaults)'} exceeds its interval ${quote(interval)}${s.interval === undefined ? ' (from defaults)' : ''}`,
        hint: onTimeout ? `lower the shard's timeout to at most ${interval}` : `set the shard's timeout to at most ${interval}, or raise its interval`,
      });
    });

    forEachJob(ctx.repo, ({ file, job, path, shard }) => {
      if (typeof job.timeout !== 'string') return; // an inherited timeout is capped at the job's interval
      const t = ms(job.timeout);
      if (t === undefined) return; // the duration rule reports it
      let interval: string;
      let from = '';
      if (typeof job.interval === 'string') interval = job.interval;
      else {
        const sh = shard !== undefined ? effective.get(shard) : undefined;
        interval = sh?.interval ?? defInterval;
        from = sh ? ` (shard ${quote(shard ?? '')}'s interval)` : ' (the default interval)';
      }
      const i = ms(interval);
      if (i === undefined || t <= i) return;
      const name = typeof job.name === 'string' ? `job ${quote(job.name)}` : 'job';
      ctx.report({
        file: file.path,
        path: [...path, 'timeout'],
        message: `${name} timeout ${quote(job.timeout)} exceeds its interval ${quote(interval)}${from}`,
        hint: `lower timeout to at most ${interval}, or set a longer interval on the job`,
      });
    });
  },
};
