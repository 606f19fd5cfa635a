// The git host client (core/githost) against the loopback GitHub/GitLab test server
// (test/support/githost-server.ts): pagination, rate limits, retries, scopes, statuses, branch/file/PR.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGitHostServer, type GitHostServer } from '../support/githost-server.ts';
import { createGitHost, GitHostError, nextLink } from '../../core/githost/index.ts';

const WRITE = 'ghs_write_token_0123456789';
const READ = 'ci_job_token_read_only_0123';
let srv: GitHostServer;

before(async () => {
  srv = await startGitHostServer();
  srv.addToken(WRITE, 'write');
  srv.addToken(READ, 'read');
  srv.addRepo('github', 'acme/scrape', { 'shards.yaml': 'x: 1\n' });
  srv.addRepo('gitlab', 'obs/scrape-configs', { 'shards.yaml': 'x: 1\n' });
});
after(() => srv.close());

const github = (token = WRITE, extra = {}) => createGitHost({ kind: 'github', repo: 'acme/scrape', apiBase: srv.githubApi, token, backoffMs: 10, ...extra });
const gitlab = (token = WRITE, extra = {}) => createGitHost({ kind: 'gitlab', repo: 'obs/scrape-configs', apiBase: srv.gitlabApi, token, backoffMs: 10, ...extra });

test('nextLink reads rel="next" among several relations', () => {
  assert.equal(nextLink('<https://x/repositories/7/issues/1/comments?page=3>; rel="next", <https://x/r?page=9>; rel="last"'), 'https://x/repositories/7/issues/1/comments?page=3');
  assert.equal(nextLink('<https://x/r?page=1>; rel="first"'), undefined);
});

test('GitHub comments: pagination follows the /repositories/<id>/ links as given, with the token', async () => {
  srv.maxPerPage = 10;
  srv.seedComments('github', 'acme/scrape', 7, Array.from({ length: 34 }, (_, i) => `chatter ${i}`));
  const host = github();
  const created = await host.createComment(7, '<!-- m -->\nhello');
  const all = await host.listComments(7);
  assert.equal(all.length, 35);
  assert.equal(all.at(-1)!.id, created.id);
  const pages = srv.requests.filter((r) => r.method === 'GET' && r.path.includes('/issues/7/comments'));
  assert.ok(pages.some((r) => r.path.startsWith('/api/v3/repositories/')), 'followed the /repositories/<id>/ form');
  assert.ok(pages.every((r) => r.status === 200 && r.scope === 'write'));
  await host.updateComment(7, created.id, '<!-- m -->\nagain');
  assert.equal(srv.repo('github', 'acme/scrape').comments.get(7)!.at(-1)!.body, '<!-- m -->\nagain');
  srv.maxPerPage = 100;
});

test('429 with Retry-After is waited out and retried; a wait longer than allowed fails at once', async () => {
  srv.inject({ status: 429, headers: { 'retry-after': '1' }, match: /POST .*statuses/ }, 1);
  const waits: number[] = [];
  const host = github(WRITE, { onRetry: (i: { waitMs: number }) => waits.push(i.waitMs) });
  const t0 = Date.now();
  await host.setCommitStatus('a'.repeat(40), { state: 'pending', context: 'promshard/x', description: 'rolling out' });
  assert.ok(Date.now() - t0 >= 950, 'waited the second Retry-After asked for');
  assert.deepEqual(waits, [1000]);
  srv.inject({ status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600) }, match: /POST .*statuses/ }, 1);
  await assert.rejects(github(WRITE, { maxWaitMs: 5000 }).setCommitStatus('a'.repeat(40), { state: 'success', context: 'promshard/x', description: 'ok' }), (e: GitHostError) => e.status === 403 && /rate limited for \d+ s/.test(e.message));
});

test('500s are retried with backoff a bounded number of times', async () => {
  srv.inject({ status: 500, match: /POST .*comments/ }, 2);
  await github().createComment(8, 'after two 500s');
  srv.inject({ status: 502, match: /POST .*comments/ }, 10);
  await assert.rejects(github(WRITE, { maxAttempts: 3 }).createComment(8, 'never'), (e: GitHostError) => e.status === 502);
  srv.clearInjections();
  // The waits double and are jittered, so that clients failing together do not retry in lockstep.
  const firstWaits: number[] = [];
  for (let i = 0; i < 6; i++) {
    const waits: number[] = [];
    srv.inject({ status: 500, match: /POST .*comments/ }, 2);
    await github(WRITE, { backoffMs: 40, onRetry: (r: { waitMs: number }) => waits.push(r.waitMs) }).createComment(8, `jitter ${i}`);
    assert.equal(waits.length, 2);
    assert.ok(waits[0]! >= 20 && waits[0]! <= 40 && waits[1]! >= 40 && waits[1]! <= 80, `waits ${waits}`);
    firstWaits.push(waits[0]!);
  }
  assert.ok(new Set(firstWaits).size > 1, `jittered: ${firstWaits}`);
  srv.clearInjections();
});

test('a read-only token is refused writes with 403 and the error never carries the token', async () => {
  await assert.rejects(gitlab(READ, { jobToken: true }).createComment(3, 'x'), (e: GitHostError) => e.status === 403 && !e.message.includes(READ));
  await assert.rejects(github(READ).createComment(3, 'x'), (e: GitHostError) => e.status === 403 && /not accessible by integration/.test(e.message));
  await assert.rejects(github('wrong-token-xyz').listComments(3), (e: GitHostError) => e.status === 401 && !e.message.includes('wrong-token-xyz'));
});

test('statuses: GitHub `failure` cut to 140 characters; GitLab `failed` cut to 255, a repeated status is accepted', async () => {
  const sha = 'b'.repeat(40);
  await github().setCommitStatus(sha, { state: 'failure', context: 'promshard/net', description: 'x'.repeat(500), targetUrl: 'http://ctl/revisions/' + sha });
  await github().setCommitStatus('e'.repeat(40), { state: 'running', context: 'promshard/net', description: 'rolling out' });
  assert.equal(srv.repo('github', 'acme/scrape').statuses.at(-1)!.state, 'pending', 'GitHub has no running state');
  const gs = srv.repo('github', 'acme/scrape').statuses.filter((s) => s.sha === sha).at(-1)!;
  assert.equal(gs.state, 'failure');
  assert.equal([...gs.description].length, 140);
  const host = gitlab();
  await host.setCommitStatus(sha, { state: 'pending', context: 'promshard/net', description: 'start' });
  await host.setCommitStatus(sha, { state: 'pending', context: 'promshard/net', description: 'start' });
  assert.ok(srv.requests.some((r) => r.path.includes('/statuses/') && r.status === 400), 'the host did answer 400 to the repeat');
  await host.setCommitStatus(sha, { state: 'failure', context: 'promshard/net', description: 'y'.repeat(400) });
  const ls = srv.repo('gitlab', 'obs/scrape-configs').statuses.filter((s) => s.sha === sha);
  assert.deepEqual(ls.map((s) => s.state), ['pending', 'failed']);
  assert.equal([...ls[1].description].length, 255);
});

test('GitLab notes newest first, across pages; update in place', async () => {
  srv.maxPerPage = 5;
  srv.seedComments('gitlab', 'obs/scrape-configs', 4, Array.from({ length: 12 }, (_, i) => `note ${i}`));
  const host = gitlab();
  const mine = await host.createComment(4, '<!-- m -->\nplan');
  srv.seedComments('gitlab', 'obs/scrape-configs', 4, Array.from({ length: 12 }, (_, i) => `later ${i}`));
  const found = await host.listComments(4, (c) => c.body.startsWith('<!-- m -->'));
  assert.equal(found.at(-1)!.id, mine.id);
  await host.updateComment(4, mine.id, '<!-- m -->\nplan 2');
  assert.equal((await host.listComments(4)).filter((c) => c.body.startsWith('<!-- m -->')).length, 1);
  srv.maxPerPage = 100;
});

for (const kind of ['github', 'gitlab'] as const) {
  test(`${kind}: branch, file commit and ${kind === 'github' ? 'pull' : 'merge'} request`, async () => {
    const host = kind === 'github' ? github() : gitlab();
    const head = await host.branchHead('main');
    await host.createBranch('promshard/fix-1', head);
    const prev = await host.getFile('shards.yaml', 'promshard/fix-1');
    assert.equal(prev?.content, 'x: 1\n');
    assert.equal(await host.getFile('nope.yaml', 'main'), undefined);
    await host.putFile({ branch: 'promshard/fix-1', path: 'shards.yaml', content: 'x: 2\n', message: 'fix', previous: prev });
    await host.putFile({ branch: 'promshard/fix-1', path: 'teams/a/b.yaml', content: 'team: a\n', message: 'add' });
    const repoName = kind === 'github' ? 'acme/scrape' : 'obs/scrape-configs';
    assert.equal(srv.filesAt(kind, repoName, 'promshard/fix-1')!.get('shards.yaml'), 'x: 2\n');
    assert.equal(srv.filesAt(kind, repoName, 'promshard/fix-1')!.get('teams/a/b.yaml'), 'team: a\n');
    assert.equal(srv.filesAt(kind, repoName, 'main')!.get('shards.yaml'), 'x: 1\n');
    const pr = await host.openChangeRequest({ head: 'promshard/fix-1', base: 'main', title: 'Fix', body: 'why' });
    assert.ok(pr.number > 0 && pr.url.startsWith(srv.url));
  });
}

test('a pagination link to another origin does not get the credential', async () => {
  const host = github();
  await assert.rejects((host as unknown as { http: { request(m: string, u: string): Promise<unknown> } }).http.request('GET', 'http://127.0.0.2:1/steal'), /refusing to send the credential/);
});
