// The controller reads git through long-lived `git cat-file` processes instead of one process per
// question (git-follower.ts, core/repository/git-object-reader.ts). Each answer must be what the git
// command it replaced says: ls-tree + cat-file for a revision's files, `log --format` for commit
// metadata, rev-list for ancestors, merge-base for ancestry; and a fetch must be seen by the
// processes that were already running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo.ts';
import { GitRepo, launchController, newControllerPort, SHARDS_YAML, teamFile, tempDir, waitFor } from './helpers.ts';
import { GitFollower } from '../../central-controller/git-follower.ts';
import { readRepositoryFromGit, type RepositorySource } from '../../core/repository/repository-source.ts';

const TEAM = 'team: a\nshard: s\njobs:\n  - name: j\n    targets: ["h1.internal:9100"]\n';

function comparable(s: RepositorySource) {
  return { origin: s.origin, files: s.files.map((f) => ({ path: f.path, blob: f.blob, bytes: f.bytes?.toString('hex'), problem: f.problem })) };
}

async function withFollower(fn: (repo: ReturnType<typeof createGitRepo>, follower: GitFollower) => Promise<void>): Promise<void> {
  const repo = createGitRepo({ 'shards.yaml': 'shards:\n  - name: s\n', 'teams/a/a.yaml': TEAM });
  const state = mkdtempSync(join(tmpdir(), 'promshard-follower-'));
  const follower = new GitFollower(repo.dir, 'main', state);
  try {
    await follower.open();
    await fn(repo, follower);
  } finally {
    follower.close();
    repo.destroy();
    rmSync(state, { recursive: true, force: true });
  }
}

test("a revision read through the object reader equals ls-tree + cat-file's, across commits that reuse unchanged trees", async () => {
  await withFollower(async (repo, follower) => {
    repo.write('teams/a/b.yaml', TEAM.replace('name: j', 'name: k'));
    repo.write('teams/a/nested/deep.yaml', TEAM); // listed, then refused by the compiler (file-layout)
    repo.write('teams/b/big.yaml', `team: b\n# ${'x'.repeat(300)}\n`);
    repo.write('README.md', 'not configuration\n');
    repo.write('teams/b/notes.txt', 'not configuration\n');
    symlinkSync('../a/a.yaml', join(repo.dir, 'teams/b/link.yaml'));
    repo.write('scrape-configs/shards.yaml', 'shards: []\n');
    repo.write('scrape-configs/teams/c/c.yaml', TEAM);
    repo.commit('many kinds of entries');
    // A submodule entry (mode 160000) is not a file: neither reader lists it.
    const head = repo.git('rev-parse', 'HEAD');
    repo.git('update-index', '--add', '--cacheinfo', `160000,${head},teams/c/module.yaml`);
    repo.git('commit', '-q', '-m', 'submodule entry');
    const revisions = [repo.git('rev-parse', 'HEAD')];
    repo.write('teams/a/b.yaml', TEAM.replace('name: j', 'name: l'));
    revisions.push(repo.commit('one file changed'));
    repo.remove('teams/b/big.yaml');
    revisions.push(repo.commit('one file removed'));
    const sha = await follower.fetch();
    assert.equal(sha, revisions.at(-1));
    for (const rev of [revisions[0], ...revisions]) {
      for (const subdir of ['', 'scrape-configs', 'missing']) {
        const expected = await readRepositoryFromGit(follower.gitDir, rev, subdir, 200);
        const actual = await follower.repository.read(rev, subdir, 200);
        assert.deepEqual(comparable(actual), comparable(expected), `${rev.slice(0, 8)} subdir '${subdir}'`);
      }
    }
    const withBig = await follower.repository.read(revisions[0], '', 200);
    assert.match(withBig.files.find((f) => f.path === 'teams/b/big.yaml')!.problem!.message, /over the 200-byte limit/);
    assert.match(withBig.files.find((f) => f.path === 'teams/b/link.yaml')!.problem!.message, /symbolic links are not allowed/);
  });
});

test('commit metadata, ancestors and ancestry equal what git log, rev-list and merge-base say', async () => {
  await withFollower(async (repo, follower) => {
    repo.write('teams/a/a.yaml', TEAM + '# 1\n');
    repo.git('add', '-A');
    repo.git('commit', '-q', '-m', '  \n\nA subject  \nfolded over lines\n\nand a body\n', '--author', 'Zoë Ünïcode <z@example.invalid>');
    const base = repo.git('rev-parse', 'HEAD');
    repo.git('checkout', '-q', '-b', 'side');
    repo.write('teams/a/side.yaml', TEAM);
    repo.commit('side');
    repo.git('checkout', '-q', 'main');
    repo.write('teams/a/main.yaml', TEAM);
    repo.commit('main');
    repo.git('merge', '-q', '--no-ff', '-m', 'merge side', 'side');
    repo.write('teams/a/a.yaml', TEAM + '# 2\n');
    const head = repo.commit('after the merge');
    await follower.fetch();
    for (const sha of [head, base]) {
      const [full, committedAt, author, message] = repo.git('log', '-1', '--format=%H%x00%cI%x00%an%x00%s', sha).split('\0');
      assert.deepEqual(await follower.commit(sha), { sha: full, committedAt: new Date(committedAt).toISOString(), author, message });
    }
    assert.equal((await follower.commit(base)).message, 'A subject folded over lines');
    const revList = repo.git('rev-list', '--first-parent', head).split('\n');
    assert.deepEqual(await follower.ancestors(head, 100), revList.slice(1));
    assert.deepEqual(await follower.ancestors(head, 2), revList.slice(1, 3));
    const all = repo.git('rev-list', '--all').split('\n');
    for (const a of all) {
      for (const b of all) {
        let expected = true;
        try {
          repo.git('merge-base', '--is-ancestor', a, b);
        } catch {
          expected = false;
        }
        assert.equal(await follower.isAncestor(a, b), expected, `${a.slice(0, 8)} ancestor of ${b.slice(0, 8)}`);
      }
    }
    assert.equal(await follower.isAncestor('0'.repeat(40), head), false, 'an unknown commit is no ancestor');
    assert.equal(await follower.exists(head, 'teams/a/side.yaml'), true);
    assert.equal(await follower.exists(head, 'teams/a/none.yaml'), false);
  });
});

test('a running reader sees what later fetches bring, after the branch is rewritten and after gc', async () => {
  await withFollower(async (repo, follower) => {
    const first = await follower.fetch();
    assert.equal((await follower.repository.read(first)).files.length, 2);
    repo.write('teams/a/new.yaml', TEAM);
    const second = repo.commit('second');
    assert.equal(await follower.fetch(), second);
    assert.deepEqual((await follower.repository.read(second)).files.map((f) => f.path), ['shards.yaml', 'teams/a/a.yaml', 'teams/a/new.yaml']);
    repo.git('reset', '-q', '--hard', first); // a force-pushed revert
    repo.write('teams/a/other.yaml', TEAM);
    const rewritten = repo.commit('rewritten');
    assert.equal(await follower.fetch(), rewritten);
    assert.equal(await follower.isAncestor(second, rewritten), false);
    execFileSync('git', ['--git-dir', follower.gitDir, 'gc', '-q', '--prune=now']);
    assert.equal(await follower.head(), rewritten);
    assert.deepEqual((await follower.repository.read(rewritten)).files.map((f) => f.path), ['shards.yaml', 'teams/a/a.yaml', 'teams/a/other.yaml']);
  });
});

/** Pids of `git cat-file` processes reading `gitDir`, from /proc. */
function catFileProcesses(gitDir: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes('cat-file') && argv.includes(gitDir)) pids.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

test("a closed controller leaves none of its reader's git processes behind", async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-follower-ctl-');
  try {
    repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/a/a.yaml': teamFile('a', 'networking', { 'a-job': ['h1.internal:9100'] }) });
    const controller = await launchController(repo, stateDir, await newControllerPort(), { pollMs: 0 });
    const gitDir = join(stateDir, 'repository.git');
    assert.equal(catFileProcesses(gitDir).length, 2, 'the running controller reads through --batch and --batch-check');
    await controller.close();
    await waitFor('the git cat-file processes exit on close', () => catFileProcesses(gitDir).length === 0, 5000);
  } finally {
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
