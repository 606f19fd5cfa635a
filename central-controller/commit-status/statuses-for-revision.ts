// What each shard's commit status should say about a revision, from its record (revision-life.ts):
// one context per shard, `promshard/<shard>`, and `promshard` for the commit as a whole when it has
// error findings. A pure function of the record, so a restart or a retry says the same thing again.
import type { RevisionLife, ShardLife } from '../revision-life.ts';
import type { CommitStatus } from '../../core/githost/git-host.ts';

export const COMMIT_CONTEXT = 'promshard';
export const shardContext = (shard: string) => `promshard/${shard}`;

const seconds = (ms: number) => (ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000)));

function provenLine(s: ShardLife): string {
  const replicas = Object.values(s.replicas);
  const proven = replicas.filter((r) => r.proven);
  const started = s.rolloutStartedAt ? Date.parse(s.rolloutStartedAt) : NaN;
  const last = Math.max(...proven.map((r) => (r.appliedAt ? Date.parse(r.appliedAt) : NaN)).filter(Number.isFinite));
  const took = Number.isFinite(started) && Number.isFinite(last) ? ` in ${seconds(Math.max(0, last - started))} s` : '';
  return `${proven.length}/${replicas.length} replicas proven${took}`;
}

/**
 * Prometheus's scrape error without the parts the status already says (the method and URL, the
 * dialled address), so that the cause ("connect: connection refused", "401 Unauthorized") fits.
 */
export function shortScrapeError(error: string): string {
  return error.replace(/^[A-Za-z]+ "[^"]*": /, '').replace(/\bdial tcp \S+: /, '').trim();
}

function targetsLine(s: ShardLife): string {
  if (s.targets.length === 0) return 'no new targets';
  const up = s.targets.filter((t) => t.health === 'up').length;
  const line = `${up}/${s.targets.length} new targets up`;
  const down = s.targets.find((t) => t.health === 'down');
  return down ? `${line}; ${down.job} ${down.address} down${down.lastError ? `: ${shortScrapeError(down.lastError)}` : ''}` : line;
}

export function statusForShard(s: ShardLife): Omit<CommitStatus, 'context' | 'targetUrl'> | null {
  switch (s.outcome) {
    case 'unchanged':
      return null;
    case 'pending':
      return { state: 'pending', description: s.reason ? `waiting: ${s.reason}` : 'waiting to roll out' };
    case 'rolling-out':
      // Not the per-replica progress: each step would cost the host one more write for the same state.
      return { state: 'running', description: Object.keys(s.replicas).length ? `rolling out to ${Object.keys(s.replicas).length} replica(s)` : 'rolling out' };
    case 'applied':
      // Success waits for the new targets' first scrapes (or the health watch's bound), so that the
      // author hears "up" or Prometheus's error for each, not only "config applied".
      // A revision without new targets has nothing to wait for (its record never settles them).
      if (!s.targetsSettled && s.targets.length > 0) return { state: 'running', description: `${provenLine(s)}; waiting for the first scrape of ${s.targets.length} new target(s)` };
      return { state: 'success', description: `${provenLine(s)}; ${targetsLine(s)}` };
    case 'refused':
      return { state: 'failure', description: `refused by Prometheus: ${s.prometheusError ?? s.reason ?? 'no reason given'}` };
    case 'halted':
      return { state: 'failure', description: `halted: ${s.reason ?? s.prometheusError ?? 'no reason given'}` };
    case 'superseded':
      // Commits are cumulative: this one's changes roll out with the newer commit, whose status tells.
      return { state: 'success', description: 'superseded by a newer commit before it finished; its changes roll out with that commit' };
  }
}

export function statusesForRevision(r: RevisionLife, externalUrl: string | undefined): CommitStatus[] {
  const targetUrl = externalUrl ? `${externalUrl.replace(/\/+$/, '')}/revisions/${r.sha}` : undefined;
  const out: CommitStatus[] = [];
  if (r.valid === false) {
    const errors = r.findings.filter((f) => f.severity === 'error');
    const first = errors.slice(0, 2).map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}: ${f.message}`);
    const more = r.findingCount > first.length ? ` (+${r.findingCount - first.length} more)` : '';
    const what = r.held ? 'invalid commit, not rolled out' : r.quarantined.length ? `invalid commit: ${r.quarantined.length} file(s) left out` : 'invalid commit';
    out.push({ context: COMMIT_CONTEXT, state: 'failure', description: `${what}: ${first.join('; ')}${more}`, targetUrl });
  }
  for (const [shard, life] of Object.entries(r.shards).sort(([a], [b]) => a.localeCompare(b))) {
    const s = statusForShard(life);
    if (s) out.push({ ...s, context: shardContext(shard), targetUrl });
  }
  return out;
}
