// duration: every duration field must be a Prometheus duration (`30s`, `1m30s`, `500ms`: units
// y w d h m s ms, largest first, whole numbers, no spaces) and greater than zero. Prometheus refuses
// anything else when it loads the configuration, and a zero interval or timeout silently means
// "use the global default" in some places and "never" in others.
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { parseDurationMs } from '../../core/time/duration.ts';
import { forEachJob, isRecord } from './walk.ts';
import { quote } from './format.ts';

/** Largest duration Go's time.Duration holds (int64 nanoseconds), in milliseconds. */
const MAX_MS = 9_223_372_036_854;

const UNIT_MS: [string, number][] = [['h', 3600e3], ['m', 60e3], ['s', 1e3], ['ms', 1]];

function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  for (const [u, n] of UNIT_MS) if (ms >= n) (out += `${Math.floor(ms / n)}${u}`), (ms %= n);
  return out;
}

/** A guess at what was meant, for the hint. */
function suggestion(text: string): string | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return `${t}s`;
  const compact = t.replace(/\s+/g, '').toLowerCase().replace(/(\d)(sec|secs|seconds?)\b/g, '$1s').replace(/(\d)(mins?|minutes?)\b/g, '$1m').replace(/(\d)(hours?|hrs?)\b/g, '$1h');
  if (compact !== text && parseDurationMs(compact)) return compact;
  const dec = /^(\d*\.\d+)(ms|s|m|h|d)$/.exec(compact);
  if (dec) {
    const ms = Math.round(Number(dec[1]) * ({ ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 } as Record<string, number>)[dec[2]]);
    if (ms > 0) return formatMs(ms);
  }
  return undefined;
}

export function durationProblem(value: string): { message: string; hint: string } | undefined {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    const s = suggestion(value);
    return {
      message: `${quote(value)} is not a Prometheus duration`,
      hint: s ? `write ${s}` : 'write a duration such as 15s, 1m or 1h30m: whole numbers with units y, w, d, h, m, s or ms, largest first, no spaces',
    };
  }
  if (ms === 0) return { message: `duration ${quote(value)} must be greater than zero`, hint: 'remove the key to inherit the default, or set a positive duration such as 30s' };
  if (ms > MAX_MS) return { message: `duration ${quote(value)} is out of range`, hint: 'Prometheus durations hold at most about 292 years' };
  return undefined;
}

export const duration: Rule = {
  id: 'duration',
  severity: 'error',
  summary: 'A duration field (interval, timeout, refresh_interval, evaluation_interval) that is not a valid, positive Prometheus duration.',
  scope: 'file',
  check(ctx) {
    const checkField = (file: string, owner: unknown, path: PathSegment[], key: string, what: string) => {
      if (!isRecord(owner) || typeof owner[key] !== 'string') return;
      const p = durationProblem(owner[key]);
      if (p) ctx.report({ file, path: [...path, key], message: `${what} ${key}: ${p.message}`, hint: p.hint });
    };
    forEachJob(ctx.repo, ({ file, job, path }) => {
      const what = typeof job.name === 'string' ? `job ${quote(job.name)}` : 'job';
      checkField(file.path, job, path, 'interval', what);
      checkField(file.path, job, path, 'timeout', what);
      const dns = isRecord(job.discovery) ? job.discovery.dns : undefined;
      checkField(file.path, dns, [...path, 'discovery', 'dns'], 'refresh_interval', `${what} discovery.dns`);
    });
    const shards = ctx.repo.shardsFile;
    if (!shards || !isRecord(shards.data)) return;
    for (const key of ['interval', 'timeout', 'evaluation_interval']) checkField(shards.path, shards.data.defaults, ['defaults'], key, 'defaults');
    if (Array.isArray(shards.data.shards)) {
      shards.data.shards.forEach((s, i) => {
        if (!isRecord(s)) return;
        const what = typeof s.name === 'string' ? `shard ${quote(s.name)}` : `shard ${i + 1}`;
        checkField(shards.path, s, ['shards', i], 'interval', what);
        checkField(shards.path, s, ['shards', i], 'timeout', what);
      });
    }
  },
};
