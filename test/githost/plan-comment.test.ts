// `promshard plan --comment github|gitlab` (the real CLI, a real git repository) against the loopback
// GitHub/GitLab test server (test/support/githost-server.ts): one sticky comment, created then edited
// in place on the next push and found again across pages; findings grouped by file; rate limits
// waited out; CI_JOB_TOKEN refused clearly; a host that fails never changes the plan's verdict;
// a plan longer than the host allows is cut with a link to the job.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { startGitHostServer, type GitHostServer } from '../support/githost-server.ts';
import { commentBody, PLAN_MARKER, postPlanComment } from '../../ci/plan/pr-comment.ts';
import { createGitHost } from '../../core/githost/index.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

const WRITE = 'ghs_actions_token_5d1e7f0a';
const JOB = 'glcbt-job-token-3a9c55e1';
const team = (name: string, shard: string, job: string, targets: string[]) =>
  `team: ${name}\nshard: ${shard}\njobs:\n  - name: ${job}\n    targets: [${targets.map((t) => `"${t}"`).join(', ')}]\n`;

function plan(dir: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  // Asynchronous: the test server answers in this same process.
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, 'plan', '--repo', dir, '--base', 'HEAD~1', ...args], { env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('plan --comment against the git host test server', () => {
  let srv: GitHostServer;
  let repo: TestGitRepo;
  let tmp: string;
  let githubEnv: Record<string, string>;
  let gitlabEnv: Record<string, string>;

  before(async () => {
    srv = await startGitHostServer();
    srv.addToken(WRITE, 'write');
    srv.addToken(JOB, 'read');
    srv.addRepo('github', 'acme/scrape');
    const project = srv.addRepo('gitlab', 'obs/scrape');
    repo = createGitRepo({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': team('netops', 'networking', 'dhcp', ['a.internal:9100']) });
    repo.write('teams/netops/a.yaml', team('netops', 'networking', 'dhcp', ['a.internal:9100', 'b.internal:9100']));
    repo.commit('first push');
    tmp = mkdtempSync(join(tmpdir(), 'promshard-plan-comment-'));
    writeFileSync(join(tmp, 'event.json'), JSON.stringify({ action: 'synchronize', number: 42, pull_request: { number: 42 } }));
    githubEnv = { GITHUB_TOKEN: WRITE, GITHUB_REPOSITORY: 'acme/scrape', GITHUB_EVENT_PATH: join(tmp, 'event.json'), GITHUB_API_URL: srv.githubApi, GITHUB_SERVER_URL: srv.url, GITHUB_RUN_ID: '777' };
    gitlabEnv = { GITLAB_TOKEN: WRITE, CI_PROJECT_ID: String(project.id), CI_MERGE_REQUEST_IID: '9', CI_API_V4_URL: srv.gitlabApi, CI_JOB_URL: `${srv.url}/obs/scrape/-/jobs/1`, CI_JOB_TOKEN: JOB };
  });
  after(async () => {
    await srv.close();
    repo.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('GitHub: creates one comment, then edits it on the next push, finding it across pages', async () => {
    srv.seedComments('github', 'acme/scrape', 42, Array.from({ length: 130 }, (_, i) => `review chatter ${i}`));
    const first = await plan(repo.dir, ['--comment', 'github'], githubEnv);
    assert.equal(first.code, 0, first.err);
    assert.match(first.err, /created the plan comment \d+ on pull request 42/);
    srv.seedComments('github', 'acme/scrape', 42, Array.from({ length: 130 }, (_, i) => `later chatter ${i}`));

    repo.write('teams/netops/b.yaml', team('netops', 'networking', 'ntp', ['no port here']));
    repo.commit('second push, with an error');
    const before = srv.requests.length;
    const second = await plan(repo.dir, ['--comment', 'github'], githubEnv);
    assert.equal(second.code, 1, 'the plan verdict (invalid head) is kept');
    assert.match(second.err, /updated the plan comment \d+ on pull request 42/);
    const marked = srv.repo('github', 'acme/scrape').comments.get(42)!.filter((c) => c.body.startsWith(PLAN_MARKER));
    assert.equal(marked.length, 1, 'one comment, not two');
    assert.match(marked[0].body, /\| networking \| changed \|/);
    assert.match(marked[0].body, /#### Findings: \d+ error\(s\)/);
    assert.match(marked[0].body, /<code>teams\/netops\/b\.yaml<\/code>: \d+ error/);
    const reads = srv.requests.slice(before).filter((r) => r.method === 'GET');
    assert.ok(reads.length >= 2 && reads.some((r) => r.path.startsWith('/api/v3/repositories/')), 'followed the next link in /repositories/<id>/ form');
    assert.ok(srv.requests.slice(before).some((r) => r.method === 'PATCH' && r.status === 200));
  });

  it('GitLab: note created then updated (notes come newest first); a 429 with Retry-After is waited out', async () => {
    srv.inject({ status: 429, headers: { 'retry-after': '1' }, match: /^POST .*\/notes$/ }, 1);
    const first = await plan(repo.dir, ['--comment', 'gitlab'], gitlabEnv);
    assert.equal(first.code, 1);
    assert.match(first.err, /created the plan comment \d+ on merge request 9/);
    srv.seedComments('gitlab', 'obs/scrape', 9, Array.from({ length: 120 }, (_, i) => `discussion ${i}`));
    const second = await plan(repo.dir, ['--comment', 'gitlab'], gitlabEnv);
    assert.match(second.err, /updated the plan comment/);
    const notes = srv.repo('gitlab', 'obs/scrape').comments.get(9)!;
    assert.equal(notes.filter((c) => c.body.startsWith(PLAN_MARKER)).length, 1);
    assert.ok(srv.requests.some((r) => r.method === 'POST' && r.path.endsWith('/notes') && r.status === 429));
  });

  it('GitLab with only CI_JOB_TOKEN: says it cannot write notes; exit status stays the plan verdict unless --comment-required', async () => {
    const onlyJob = { ...gitlabEnv, GITLAB_TOKEN: '' };
    repo.write('teams/netops/b.yaml', team('netops', 'networking', 'ntp', ['t.internal:9100']));
    repo.commit('valid again');
    const r = await plan(repo.dir, ['--comment', 'gitlab'], onlyJob);
    assert.equal(r.code, 0);
    assert.match(r.err, /NOT posted: only CI_JOB_TOKEN is available, and GitLab's job token cannot write merge request notes/);
    assert.match(r.out, /shard networking/, 'the plan itself is still printed');
    assert.equal((await plan(repo.dir, ['--comment', 'gitlab', '--comment-required'], onlyJob)).code, 3);
  });

  it('a git host answering 500 does not change the verdict, and the token never shows', async () => {
    srv.inject({ status: 500, match: /comments/ }, Infinity);
    try {
      const r = await plan(repo.dir, ['--comment', 'github'], githubEnv);
      assert.equal(r.code, 0);
      assert.match(r.err, /NOT posted: the git host refused or did not answer: .*HTTP 500/);
      assert.ok(!r.err.includes(WRITE) && !r.out.includes(WRITE));
    } finally {
      srv.clearInjections();
    }
  });

  for (const kind of ['github', 'gitlab'] as const) {
    it(`${kind}: a person's comment carrying the marker is never taken over`, async () => {
      const name = kind === 'github' ? 'acme/scrape' : 'obs/scrape';
      const pasted = `${PLAN_MARKER}\nI copied the plan here to discuss it`;
      srv.seedComments(kind, name, 50, [pasted]);
      const host = createGitHost({ kind, repo: name, apiBase: kind === 'github' ? srv.githubApi : srv.gitlabApi, token: WRITE });
      const first = await postPlanComment(host, 50, 'plan one\n');
      const second = await postPlanComment(host, 50, 'plan two\n');
      assert.deepEqual([first.action, second.action], ['created', 'updated']);
      assert.equal(first.id, second.id);
      const comments = srv.repo(kind, name).comments.get(50)!;
      assert.equal(comments.find((c) => c.user.type === 'User')!.body, pasted);
      assert.equal(comments.find((c) => c.id === first.id)!.body, `${PLAN_MARKER}\nplan two\n`);
    });
  }

  it('a plan longer than GitHub accepts is cut, with a link to the job, and posted', async () => {
    const long = '### promshard plan\n\n<details><summary>x</summary>\n\n' + Array.from({ length: 4000 }, (_, i) => `- **added** \`job-${i}\` with a fairly long line of text`).join('\n') + '\n</details>\n';
    const host = createGitHost({ kind: 'github', repo: 'acme/scrape', apiBase: srv.githubApi, token: WRITE });
    const posted = await postPlanComment(host, 43, long, 'https://ci.example/run/5');
    assert.equal(posted.truncated, true);
    const body = srv.repo('github', 'acme/scrape').comments.get(43)![0].body;
    assert.ok(body.length <= 65_536, `${body.length}`);
    assert.match(body, /it was cut, and the full plan is in \[the CI job's log\]\(https:\/\/ci\.example\/run\/5\)/);
    assert.equal((body.match(/<details/g) ?? []).length, (body.match(/<\/details>/g) ?? []).length, 'no <details> left open');
    assert.equal(commentBody('short', 65_536, undefined), `${PLAN_MARKER}\nshort`);
    assert.ok(commentBody(long, 1_000_000, undefined).endsWith('</details>\n'), 'GitLab holds it whole');
  });
});
