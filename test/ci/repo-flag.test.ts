// `--repo` means the same for every command: the folder that holds shards.yaml, or a folder (the git
// root) whose scrape-configs/ holds it. validate, render and plan are run through the real CLI on a
// real git repository; the controller is started through the real CLI with --repo pointing at a
// configuration folder that is not the root and not named scrape-configs (so only the resolution can
// find it) and must compile it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { resolveControllerRepository, resolveRepositoryDir } from '../../ci/repository-location.ts';
import { waitFor } from '../support/wait-for.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

const SHARDS = `shards:
  - name: apps
    replicas: 1
    budget: { max_series: 100000, max_targets: 10 }
`;
const TEAM = `team: payments
shard: apps
jobs:
  - name: checkout
    targets: ["127.0.0.1:9100"]
`;

const repos: TestGitRepo[] = [];
const dirs: string[] = [];
after(() => {
  for (const r of repos) r.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function repoWith(subdir: string): TestGitRepo {
  const r = createGitRepo({ [`${subdir}/shards.yaml`]: SHARDS, [`${subdir}/teams/payments/checkout.yaml`]: TEAM, 'README.md': 'config\n' });
  r.commit('initial');
  repos.push(r);
  return r;
}

const cli = (args: string[], cwd?: string) => spawnSync('node', [BIN, ...args], { encoding: 'utf8', cwd });

test('validate, render and plan accept the git root and the shards.yaml folder alike', () => {
  const r = repoWith('scrape-configs');
  for (const repo of [r.dir, join(r.dir, 'scrape-configs')]) {
    const v = cli(['validate', '--repo', repo]);
    assert.equal(v.status, 0, `validate --repo ${repo}: ${v.stdout}${v.stderr}`);
    const out = mkdtempSync(join(tmpdir(), 'promshard-render-'));
    dirs.push(out);
    const rd = cli(['render', '--repo', repo, '--out', out]);
    assert.equal(rd.status, 0, `render --repo ${repo}: ${rd.stdout}${rd.stderr}`);
    assert.ok(existsSync(join(out, 'apps', 'prometheus.yml')));
    const p = cli(['plan', '--repo', repo, '--base', 'HEAD', '--format', 'json']);
    assert.equal(p.status, 0, `plan --repo ${repo}: ${p.stdout}${p.stderr}`);
  }
  // Without --repo, from the root or from the folder.
  assert.equal(cli(['validate'], r.dir).status, 0);
  assert.equal(cli(['validate'], join(r.dir, 'scrape-configs')).status, 0);
});

test('a --repo with no shards.yaml in it or in its scrape-configs/ is a usage error (exit 2) naming both', () => {
  const empty = mkdtempSync(join(tmpdir(), 'promshard-empty-'));
  dirs.push(empty);
  const v = cli(['validate', '--repo', empty]);
  assert.equal(v.status, 2);
  assert.match(v.stderr, /no shards\.yaml there nor in .*scrape-configs/);
});

test('resolveControllerRepository: a configuration folder inside a work tree is followed through its root', () => {
  const r = repoWith('config');
  assert.deepEqual(resolveControllerRepository(join(r.dir, 'config'), undefined), { repo: r.dir, repoSubdir: 'config' });
  assert.deepEqual(resolveControllerRepository(r.dir, undefined), { repo: r.dir, repoSubdir: undefined });
  assert.deepEqual(resolveControllerRepository(join(r.dir, 'config'), 'other'), { repo: join(r.dir, 'config'), repoSubdir: 'other' });
  assert.deepEqual(resolveControllerRepository('https://git.example.com/fleet.git', undefined), { repo: 'https://git.example.com/fleet.git', repoSubdir: undefined });
  assert.equal(resolveRepositoryDir(r.dir + '/config'), join(r.dir, 'config'));
});

test('promshard controller --repo <folder holding shards.yaml> compiles that folder', async () => {
  const r = repoWith('config');
  const state = mkdtempSync(join(tmpdir(), 'promshard-ctl-'));
  dirs.push(state);
  writeFileSync(join(state, 'token'), 'admin-token-0123456789abcdef\n');
  writeFileSync(join(state, 'hook'), 'webhook-secret-0123456789\n');
  const child = spawn('node', [BIN, 'controller', '--repo', join(r.dir, 'config'), '--state-dir', join(state, 'data'), '--token-file', join(state, 'token'), '--webhook-secret-file', join(state, 'hook'), '--listen', '127.0.0.1:0', '--poll', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const url = await waitFor('the controller to listen', () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 20_000);
    const view = await waitFor(
      'a compiled head',
      async () => {
        const res = await fetch(`${url}/v1/repository`, { headers: { authorization: 'Bearer admin-token-0123456789abcdef' } });
        const body = (await res.json()) as { subdir: string; valid: boolean; head: unknown };
        return body.head ? body : undefined;
      },
      20_000,
    );
    assert.equal(view.subdir, 'config');
    assert.equal(view.valid, true, JSON.stringify(view));
  } finally {
    const exited = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    await exited;
  }
});
