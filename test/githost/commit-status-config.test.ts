// Commit-status settings from flags or a file (central-controller/commit-status/config.ts), and what
// each state says (statuses-for-revision.ts): precise refusals, flags over the file, the token only
// from a file, descriptions cut to the host's limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommitStatusConfigError, gitHostForStatuses, readCommitStatusFile, resolveCommitStatus } from '../../central-controller/commit-status/config.ts';
import { shortScrapeError, statusesForRevision } from '../../central-controller/commit-status/statuses-for-revision.ts';
import type { RevisionLife } from '../../central-controller/revision-life.ts';

const BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));

test('settings: flags win over the file; missing host, repo or token file and bad URLs are refused precisely', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-cs-config-'));
  try {
    writeFileSync(join(dir, 'token'), 'glpat-0123456789abcdef\n');
    writeFileSync(join(dir, 'cs.yaml'), `host: gitlab\nrepo: obs/scrape\napi: https://git.example.org/api/v4\ntokenFile: ${join(dir, 'token')}\nexternalUrl: https://promshard.example.org\n`);
    const file = readCommitStatusFile(join(dir, 'cs.yaml'));
    const s = resolveCommitStatus({ repo: '42' }, file);
    assert.deepEqual({ host: s.host, repo: s.repo, api: s.api }, { host: 'gitlab', repo: '42', api: 'https://git.example.org/api/v4' });
    const host = gitHostForStatuses(s);
    assert.equal(host.kind, 'gitlab');
    assert.throws(() => resolveCommitStatus({ host: 'bitbucket' as never, repo: 'x', tokenFile: 't' }), /host must be github or gitlab/);
    assert.throws(() => resolveCommitStatus({ host: 'github', tokenFile: 't' }), /needs the repository \(--commit-status-repo owner\/name\)/);
    assert.throws(() => resolveCommitStatus({ host: 'github', repo: 'a/b' }), /--commit-status-token-file/);
    assert.throws(() => resolveCommitStatus({ host: 'github', repo: 'a/b', tokenFile: 't', api: 'ftp://x' }), /api "ftp:\/\/x" is not an http\(s\) URL/);
    assert.throws(() => gitHostForStatuses({ host: 'github', repo: 'a/b', tokenFile: join(dir, 'nope') }), CommitStatusConfigError);
    writeFileSync(join(dir, 'bad.yaml'), 'host: github\ntoken: inline-secret\n');
    assert.throws(() => readCommitStatusFile(join(dir, 'bad.yaml')), /unknown key "token"/);
    const r = spawnSync('node', [BIN, 'controller', '--repo', dir, '--state-dir', dir, '--token-file', join(dir, 'token'), '--webhook-secret-file', join(dir, 'token'), '--commit-status', 'github'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /commit status needs the repository/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const record = (shards: RevisionLife['shards'], extra: Partial<RevisionLife> = {}): RevisionLife => ({
  sha: 'c'.repeat(40), generation: 3, message: 'm', author: 'a', committedAt: '', receivedAt: '', compiledAt: '', valid: true, findingCount: 0, findings: [], quarantined: [], held: null, shards, ...extra,
});

test('statuses: per shard, unchanged shards say nothing; an invalid commit says its first findings', () => {
  const t0 = '2026-01-01T00:00:00.000Z';
  const s = statusesForRevision(
    record({
      a: { changed: true, outcome: 'applied', rolloutStartedAt: t0, replicas: { x: { proven: true, appliedAt: '2026-01-01T00:00:00.400Z' }, y: { proven: true, appliedAt: '2026-01-01T00:00:00.350Z' } }, targets: [{ job: 'j', address: 'h:1', team: 't', change: 'added', health: 'up' }], targetsSettled: true },
      b: { changed: false, outcome: 'unchanged', replicas: {}, targets: [], targetsSettled: true },
      c: { changed: true, outcome: 'refused', reason: 'replica x refused', prometheusError: 'reload: 403 lifecycle APIs not enabled', replicas: {}, targets: [], targetsSettled: false },
    }, { valid: false, findingCount: 3, findings: [{ file: 'teams/t/a.yaml', line: 4, column: 7, severity: 'error', rule: 'target-format', message: 'no port' }] }),
    'https://ps.example/',
  );
  assert.deepEqual(s.map((x) => [x.context, x.state]), [['promshard', 'failure'], ['promshard/a', 'success'], ['promshard/c', 'failure']]);
  assert.equal(s[0].description, 'invalid commit: teams/t/a.yaml:4:7 target-format: no port (+2 more)');
  assert.equal(s[1].description, '2/2 replicas proven in 0.4 s; 1/1 new targets up');
  assert.equal(s[1].targetUrl, `https://ps.example/revisions/${'c'.repeat(40)}`);
  assert.equal(s[2].description, 'refused by Prometheus: reload: 403 lifecycle APIs not enabled');
  assert.equal(shortScrapeError('Get "http://10.0.0.1:9100/metrics": dial tcp 10.0.0.1:9100: connect: connection refused'), 'connect: connection refused');
  assert.equal(shortScrapeError('server returned HTTP status 401 Unauthorized'), 'server returned HTTP status 401 Unauthorized');
});
