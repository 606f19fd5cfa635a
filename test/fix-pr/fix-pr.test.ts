// `promshard fix` through the real CLI, real git (a work tree and a bare remote in temp dirs) and the
// loopback git host test server (test/support/githost-server.ts, GitHub /api/v3 and GitLab /api/v4 as
// their REST docs define them), whose repository serves the branches of the bare remote. The flags
// are built by the analyzer's own fix code; test/fix-pr/end-to-end.test.ts gets one from a live fleet.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startGitHostServer, type GitHostServer } from '../support/githost-server.ts';
import { fixBranch, flagKey } from '../../core/cardinality-fix/flag-key.ts';
import { fakeUuid } from '../support/exporters.ts';
import { gitBranch, makeFlag, promshard, repoWithRemote, serveBranchesFromGit, showFile, validateBranch, writeJson } from './helpers.ts';

const SHARDS = `defaults:
  interval: 15s
  timeout: 5s
shards:
  - name: checkout
    replicas: 1
    budget: { max_series: 100000, max_targets: 10 }
`;
// Comments, a multi-line plain scalar, padded and unpadded flow collections: the yaml package's
// Document.toString() would rewrite several of these; the fix must leave them byte for byte.
const TEAM = `# Payments team: checkout services.
team: payments
shard: checkout
description: Checkout API and its
  workers, owned by the payments on-call.
jobs:
  - name: checkout-api   # the public API
    targets: [ "127.0.0.1:9001" ]
    labels: {service: api}
  # The worker already drops Go GC series.
  - name: checkout-worker
    targets: ["127.0.0.1:9002"]
    metric_relabel_configs:
      # go runtime noise
      - source_labels: [__name__]
        regex: go_gc_.*
        action: drop   # kept as written
`;
const FILE = 'scrape-configs/teams/payments/checkout.yaml';
const GH_TOKEN = 'gh-write-token-5f2a9c';
const GL_TOKEN = 'gl-write-token-81d3e7';

let server: GitHostServer;
const cleanups: (() => void | Promise<void>)[] = [];
const dir = mkdtempSync(join(tmpdir(), 'promshard-fix-test-'));
before(async () => {
  server = await startGitHostServer();
  server.addToken(GH_TOKEN, 'write');
  server.addToken(GL_TOKEN, 'write');
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function fixture(name: string) {
  const r = repoWithRemote({ 'scrape-configs/shards.yaml': SHARDS, [FILE]: TEAM });
  cleanups.push(() => r.destroy());
  return r;
}

const uuidFlag = (examples?: string[]) =>
  makeFlag({ job: 'checkout-api', metric: 'checkout_requests_total', label: 'request_id', file: 'teams/payments/checkout.yaml', line: 7, values: Array.from({ length: 300 }, (_, i) => fakeUuid(i)), examples });
const pathFlag = () =>
  makeFlag({
    job: 'checkout-worker',
    metric: 'checkout_http_requests_total',
    label: 'path',
    file: 'teams/payments/checkout.yaml',
    line: 11,
    values: Array.from({ length: 400 }, (_, i) => `/api/orders/${48213 + i}/items`),
    existing: [{ source_labels: ['__name__'], regex: 'go_gc_.*', action: 'drop' }],
  });

/** The file's lines with the fix's added lines taken out: must equal the original exactly. */
function withoutAdded(after: string, before: string): string {
  const a = after.split('\n');
  const b = before.split('\n');
  // The added block is contiguous: find the first differing line and the length of the insertion.
  let i = 0;
  while (i < b.length && a[i] === b[i]) i++;
  const inserted = a.length - b.length;
  return [...a.slice(0, i), ...a.slice(i + inserted)].join('\n');
}

test('GitHub: a job without metric_relabel_configs gets the fix in a PR; the branch validates, the comments survive, a second run opens nothing', async () => {
  const { bare } = fixture('gh');
  const hosted = server.addRepo('github', 'acme/config');
  serveBranchesFromGit(hosted, bare);
  const flag = await uuidFlag(['\u202Eevil`` @admin [x](http://evil.invalid)', fakeUuid(1)]);
  const flagFile = writeJson(dir, 'gh-flag.json', { flags: [flag] });
  const tokenFile = join(dir, 'gh-token');
  writeFileSync(tokenFile, GH_TOKEN);
  const args = ['fix', flagKey(flag.id), '--flag-file', flagFile, '--repo', bare, '--open-pr', '--githost', 'github', '--githost-repo', 'acme/config', '--githost-api', server.githubApi, '--githost-token-file', tokenFile];

  const first = await promshard(args);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /opened pull request http:\/\/127\.0\.0\.1:\d+\/acme\/config\/pull\/101/);
  const branch = fixBranch(flag.id);
  assert.ok(gitBranch(bare, branch), 'the fix branch was pushed to the remote');

  // The commit passes the real validate, and the team file is the old one plus the added lines.
  const v = await validateBranch(bare, branch);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const fixed = showFile(bare, branch, FILE);
  assert.equal(withoutAdded(fixed, TEAM), TEAM, fixed);
  for (const kept of ['# Payments team: checkout services.', '# the public API', '# The worker already drops Go GC series.', '# kept as written', 'targets: [ "127.0.0.1:9001" ]', 'labels: {service: api}'])
    assert.ok(fixed.includes(kept), `${kept} survives`);
  const job = (parse(fixed) as { jobs: { name: string; metric_relabel_configs?: unknown[] }[] }).jobs.find((j) => j.name === 'checkout-api')!;
  assert.deepEqual(job.metric_relabel_configs, [{ regex: 'request_id', action: 'labeldrop' }]);
  assert.equal(showFile(bare, 'main', FILE), TEAM, 'main is untouched');
  const message = execFileSync('git', ['-C', bare, 'log', '-1', '--format=%B', branch], { encoding: 'utf8' }).split('\n');
  assert.equal(message[0], 'promshard: cardinality fix for request_id on checkout_requests_total (job checkout-api)');
  assert.equal(message[1], '');
  assert.match(message[2]!, /^Drops request_id in job checkout-api's metric_relabel_configs \(1 rule added after the team's 0\)\.$/);

  // One PR, with the flag explained and fleet text made inert.
  assert.equal(hosted.changeRequests.length, 1);
  const pr = hosted.changeRequests[0]!;
  assert.equal(pr.head, branch);
  assert.equal(pr.base, 'main');
  assert.match(pr.title, /cardinality fix for request_id on checkout_requests_total \(job checkout-api\)/);
  for (const part of ['`checkout_requests_total`', '`request_id`', '| distinct values | 300 |', '| values per series (ratio) | 1.00 |', '| owning team | `payments` |', `\`${FILE}\`, job at line 7`, 'Estimated series saved: 299', '**Complete**', 'please review', 'CODEOWNERS'])
    assert.ok(pr.body.includes(part), `PR body has ${part}:\n${pr.body}`);
  assert.ok(!pr.body.includes('\u202E'), 'no raw bidi control in the body');
  assert.ok(pr.body.includes('\\u202e'), 'the bidi control is shown escaped');
  assert.match(pr.body, /```\n\\u202eevil`` @admin \[x\]\(http:\/\/evil\.invalid\)\n/, 'the value sits in a fence its backticks cannot close');

  const second = await promshard(args);
  assert.equal(second.status, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /already open: .*\/pull\/101/);
  assert.equal(hosted.changeRequests.length, 1, 'running twice opens one PR');
  assert.ok(server.requests.some((r) => r.method === 'GET' && r.path === '/api/v3/repos/acme/config/pulls'), 'the PR was looked up by branch');
});

test('GitLab: a job with metric_relabel_configs keeps its rules (and comments) first; one MR however often it runs', async () => {
  const { work, bare } = fixture('gl');
  const hosted = server.addRepo('gitlab', 'acme/config');
  serveBranchesFromGit(hosted, bare);
  const flag = await pathFlag();
  const flagFile = writeJson(dir, 'gl-flag.json', flag);
  // The work tree is given: its origin (the bare remote) is cloned and pushed to; the work tree is not touched.
  const args = ['fix', flag.id, '--flag-file', flagFile, '--repo', work.dir, '--open-pr', '--githost', 'gitlab', '--githost-repo', 'acme/config', '--githost-api', server.gitlabApi];
  const env = { GITLAB_TOKEN: GL_TOKEN };
  const first = await promshard(args, env);
  assert.equal(first.status, 0, first.stdout + first.stderr);
  assert.match(first.stdout, /opened merge request .*\/acme\/config\/-\/merge_requests\/1/);
  const branch = fixBranch(flag.id);
  const v = await validateBranch(bare, branch);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const fixed = showFile(bare, branch, FILE);
  assert.equal(withoutAdded(fixed, TEAM), TEAM);
  const rules = (parse(fixed) as { jobs: { name: string; metric_relabel_configs: Record<string, unknown>[] }[] }).jobs.find((j) => j.name === 'checkout-worker')!.metric_relabel_configs;
  assert.deepEqual(rules[0], { source_labels: ['__name__'], regex: 'go_gc_.*', action: 'drop' }, 'the team rule stays first');
  assert.deepEqual(rules.slice(1), flag.fix.rules, 'then the new rules');
  assert.ok(fixed.indexOf('# go runtime noise') < fixed.indexOf(`# promshard cardinality fix ${flagKey(flag.id)}`));
  assert.equal(gitBranch(work.dir, branch), undefined, 'the work tree got no branch');
  assert.equal(work.git('status', '--porcelain'), '', 'the work tree is clean');
  assert.equal(work.git('worktree', 'list').split('\n').length, 1, 'the temporary worktree is gone');

  const mr = hosted.changeRequests[0]!;
  assert.equal(mr.head, branch);
  assert.ok(mr.body.includes("after the team's own 1 rule (kept unchanged and in order)"), mr.body);

  const second = await promshard(args, env);
  assert.equal(second.status, 0, second.stdout + second.stderr);
  assert.match(second.stdout, /already open: .*merge_requests\/1/);
  assert.equal(hosted.changeRequests.length, 1, 'running twice opens one MR');
});

test('without --open-pr the fix is printed as a diff and nothing is pushed', async () => {
  const { bare } = fixture('diff');
  const flag = await uuidFlag();
  const flagFile = writeJson(dir, 'diff-flag.json', [flag]);
  const r = await promshard(['fix', flag.id, '--flag-file', flagFile, '--repo', bare]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^--- a\/scrape-configs\/teams\/payments\/checkout\.yaml/m);
  assert.match(r.stdout, /^\+    metric_relabel_configs:$/m);
  assert.match(r.stdout, /^\+      - regex: request_id$/m);
  assert.ok(!/^-(?!--)/m.test(r.stdout), 'no line of the team file is removed or rewritten');
  assert.equal(gitBranch(bare, fixBranch(flag.id)), undefined);
});

test('a file that changed since the flag (the job is gone) is refused clearly; nothing is pushed or opened', async () => {
  const { work, bare } = fixture('gone');
  const hosted = server.addRepo('github', 'acme/gone');
  serveBranchesFromGit(hosted, bare);
  work.write(FILE, TEAM.replace('checkout-api', 'checkout-public-api'));
  work.commit('rename the API job');
  work.git('push', '-q', 'origin', 'main');
  const flag = await uuidFlag();
  const flagFile = writeJson(dir, 'gone-flag.json', [flag]);
  const r = await promshard(['fix', flag.id, '--flag-file', flagFile, '--repo', bare, '--open-pr', '--githost', 'github', '--githost-repo', 'acme/gone', '--githost-api', server.githubApi], { GITHUB_TOKEN: GH_TOKEN });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /refused: teams\/payments\/checkout\.yaml: job "checkout-api" is not in this file any more \(renamed, moved or removed since the flag was raised\); nothing was changed/);
  assert.equal(gitBranch(bare, fixBranch(flag.id)), undefined);
  assert.equal(hosted.changeRequests.length, 0);
});

test('a fix whose result would not pass validate is refused with the findings (file:line:col)', async () => {
  const { work, bare } = fixture('invalid');
  // Someone else's broken file on main: the fix commit would not pass validate either.
  work.write('scrape-configs/teams/payments/broken.yaml', 'team: payments\nshard: checkout\njobs:\n  - name: checkout-api\n    targets: ["127.0.0.1:9009"]\n');
  work.commit('a duplicate job');
  work.git('push', '-q', 'origin', 'main');
  const flag = await uuidFlag();
  const flagFile = writeJson(dir, 'invalid-flag.json', [flag]);
  const r = await promshard(['fix', flagKey(flag.id), '--flag-file', flagFile, '--repo', bare]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /does not pass validate, so no fix was committed/);
  assert.match(r.stderr, /teams\/payments\/(broken|checkout)\.yaml:\d+:\d+: error \[duplicate-job\]/);
  assert.equal(r.stdout, '');
});

test('a run whose PR could not be opened (read-only token) leaves its branch; the next run reuses it and opens the PR', async () => {
  const { bare } = fixture('retry');
  const hosted = server.addRepo('github', 'acme/retry');
  serveBranchesFromGit(hosted, bare);
  server.addToken('gh-read-only-token-33', 'read');
  const flag = await uuidFlag();
  const flagFile = writeJson(dir, 'retry-flag.json', [flag]);
  const args = ['fix', flag.id, '--flag-file', flagFile, '--repo', bare, '--open-pr', '--githost', 'github', '--githost-repo', 'acme/retry', '--githost-api', server.githubApi];
  const denied = await promshard(args, { GITHUB_TOKEN: 'gh-read-only-token-33' });
  assert.equal(denied.status, 2, denied.stdout + denied.stderr);
  assert.match(denied.stderr, /POST \/api\/v3\/repos\/acme\/retry\/pulls: HTTP 403 Resource not accessible by integration/);
  assert.ok(!denied.stderr.includes('gh-read-only-token-33'), 'the token is never printed');
  const pushed = gitBranch(bare, fixBranch(flag.id));
  assert.ok(pushed, 'the branch was pushed before the PR failed');
  assert.equal(hosted.changeRequests.length, 0);

  const retry = await promshard(args, { GITHUB_TOKEN: GH_TOKEN });
  assert.equal(retry.status, 0, retry.stdout + retry.stderr);
  assert.match(retry.stdout, /opened pull request/);
  assert.equal(gitBranch(bare, fixBranch(flag.id)), pushed, 'the branch was reused, not rewritten');
  assert.equal(hosted.changeRequests.length, 1);
});
