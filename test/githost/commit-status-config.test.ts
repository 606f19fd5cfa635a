// Commit-status settings from flags or a file (central-controller/commit-status/config.ts), and what
// each state says (statuses-for-revision.ts): precise refusals, flags over the file, the token only
// from a file, descriptions cut to the host's limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitStatusConfigError, gitHostForStatuses, readCommitStatusFile, resolveCommitStatus } from '../../central-controller/commit-status/config.ts';
import { shortScrapeError, statusesForRevision } from '../../central-controller/commit-status/statuses-for-revision.ts';
import type { RevisionLife } from '../../central-controller/revision-life.ts';
import { startGitHostServer } from '../support/githost-server.ts';
import { GitRepo, SHARDS_YAML, teamFile, waitFor } from '../controller/helpers.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

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

test('promshard controller --commit-status-config reports the head commit on the git host test server, linked to --external-url', async () => {
  const srv = await startGitHostServer();
  const repo = new GitRepo();
  const dir = mkdtempSync(join(tmpdir(), 'promshard-cs-cli-'));
  const sha = repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/a.yaml': teamFile('netops', 'networking', { dhcp: ['127.0.0.1:9'] }) });
  srv.addToken('glpat-cli-status-token-1234', 'write');
  const project = srv.addRepo('gitlab', 'obs/scrape');
  writeFileSync(join(dir, 'token'), 'admin-token-0123456789abcdef\n');
  writeFileSync(join(dir, 'status-token'), 'glpat-cli-status-token-1234\n');
  writeFileSync(join(dir, 'cs.yaml'), `host: gitlab\nrepo: "${project.id}"\napi: ${srv.gitlabApi}\ntokenFile: ${join(dir, 'status-token')}\n`);
  const child = spawn('node', [BIN, 'controller', '--repo', repo.dir, '--state-dir', join(dir, 'state'), '--token-file', join(dir, 'token'), '--webhook-secret-file', join(dir, 'token'), '--listen', '127.0.0.1:0', '--poll', '0', '--commit-status-config', join(dir, 'cs.yaml'), '--external-url', 'https://ps.example.org'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    // No agent runs here: the shards' rollouts wait, and say so on the commit.
    await waitFor('a status on the head commit', () => srv.repo('gitlab', 'obs/scrape').statuses.some((s) => s.sha === sha), 30_000);
    const s = srv.repo('gitlab', 'obs/scrape').statuses.find((x) => x.sha === sha)!;
    assert.match(s.context, /^promshard\/(networking|storage)$/);
    assert.match(s.state, /^(pending|running)$/);
    assert.equal(s.target_url, `https://ps.example.org/revisions/${sha}`);
    assert.ok(!out.includes('glpat-cli-status-token-1234'), 'the token is never logged');
  } finally {
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    await exited;
    await srv.close();
    repo.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
