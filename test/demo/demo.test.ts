// `promshard demo` as a user runs it: a separate process, real Prometheus children, a real git
// repository printed on the terminal. A commit there must be applied on every replica of its shard
// within seconds, and SIGTERM must leave no Prometheus behind.
import { waitFor as waitUntil } from '../support/wait-for.ts';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, prometheusInstalled } from '../support/prometheus.ts';

const BIN = join(process.cwd(), 'bin', 'promshard.mjs');

interface DemoProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[], env: Record<string, string> = {}): DemoProcess {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, stdout: () => out, stderr: () => err, exited };
}

const waitFor: typeof waitUntil = (what, fn, timeoutMs, everyMs = 100) => waitUntil(what, fn, timeoutMs, everyMs);

/** Pids of the direct children of `pid` whose command is prometheus. */
function prometheusChildren(pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && Number(f[1]) === pid && /prometheus/.test(f[2]!))
    .map((f) => Number(f[0]));
}

/** The demo's own temporary directories (tsx keeps a cache of its own in TMPDIR). */
function demoDirs(tmp: string): string[] {
  return readdirSync(tmp).filter((e) => e.startsWith('promshard-demo-'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function processesMentioning(text: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(text) && !l.includes('ps -eo'));
}

describe('promshard demo', () => {
  const tmpRoots: string[] = [];
  const running: DemoProcess[] = [];
  const freshTmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'promshard-demo-test-'));
    tmpRoots.push(d);
    return d;
  };

  after(async () => {
    for (const d of running) if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
  });

  test('without Prometheus it stops at once and says how to install it', async () => {
    const tmp = freshTmp();
    const started = Date.now();
    const demo = startDemo([], { PROMETHEUS_BIN: '/nonexistent/prometheus', TMPDIR: tmp });
    const { code } = await demo.exited;
    assert.equal(code, 2);
    assert.ok(Date.now() - started < 10_000);
    assert.match(demo.stderr(), /\/nonexistent\/prometheus/);
    assert.match(demo.stderr(), /apt-get install -y prometheus/);
    assert.deepEqual(demoDirs(tmp), [], 'nothing was created');
  });

  test('starts the fleet, applies a commit on every replica of its shard within seconds, and SIGTERM leaves no orphans', { skip: !prometheusInstalled() && 'needs /usr/bin/prometheus', timeout: 150_000 }, async () => {
    const tmp = freshTmp();
    const port = await freePort();
    const demo = startDemo(['--port', String(port)], { TMPDIR: tmp });
    running.push(demo);
    const url = await waitFor('the dashboard URL', () => /Dashboard:\s+(http:\/\/\S+)/.exec(demo.stdout())?.[1] ?? (demo.child.exitCode !== null ? Promise.reject(new Error(`demo exited: ${demo.stderr()}`)) : null), 90_000, 200);
    assert.equal(url, `http://127.0.0.1:${port}/`);
    const repo = /Repository:\s+(\S+)/.exec(demo.stdout())![1]!;
    assert.ok(repo.startsWith(tmp), `repository ${repo} is not under the demo's temporary directory`);
    assert.match(demo.stdout(), /Try this:/);
    assert.match(demo.stdout(), /every replica runs its shard's configuration/);

    // The dashboard answers (open read access on loopback).
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /data-shard="compute"/);

    // Seven Prometheus children: three shards × two replicas, and the global receiver.
    const pids = prometheusChildren(demo.child.pid!);
    assert.equal(pids.length, 7, `prometheus children: ${pids.join(', ')}`);

    type ShardView = { name: string; inSync: boolean; replicas: { replica: string; state: string; applied: { revision: string } | null }[] };
    const shards = async () => ((await (await fetch(`${url}v1/shards`)).json()) as { shards: ShardView[] }).shards;
    const before = await shards();
    for (const name of ['networking', 'storage', 'compute']) {
      const s = before.find((x) => x.name === name)!;
      assert.equal(s.replicas.length, 2, name);
      assert.ok(s.inSync, `${name} not in sync`);
    }
    const networkingRevision = before.find((x) => x.name === 'networking')!.replicas[0]!.applied!.revision;

    // The global view: the receiver printed in the banner has `up` from every shard × replica, told
    // apart by the external labels the render adds (replica expanded from PROMSHARD_REPLICA).
    const globalView = /Global view:\s+(http:\/\/\S+?)\/?\s/.exec(demo.stdout())![1]!;
    const perReplica = await waitFor(
      'every shard × replica at the global receiver',
      async () => {
        const res = await fetch(`${globalView}/api/v1/query?query=${encodeURIComponent('count by (promshard_shard, replica) (up)')}`);
        const rows = ((await res.json()) as { data: { result: { metric: Record<string, string> }[] } }).data.result;
        const seen = rows.map((r) => `${r.metric.promshard_shard}/${r.metric.replica}`).sort();
        return seen.length === 6 ? seen : null;
      },
      30_000,
      500,
    );
    assert.deepEqual(perReplica, ['compute/a', 'compute/b', 'networking/a', 'networking/b', 'storage/a', 'storage/b']);
    // The dashboard's header links to it.
    assert.match(await (await fetch(url)).text(), new RegExp(`<a href="${globalView.replace(/[.]/g, '\\.')}" id="global-view-link"`));

    // A commit in the printed repository, the way the banner suggests; the post-commit hook notifies.
    appendFileSync(join(repo, 'teams', 'demo', 'exporters.yaml'), '  - name: demo-extra\n    targets: ["127.0.0.1:9100"]\n');
    const commit = spawnSync('git', ['-C', repo, 'commit', '-qam', 'demo test: one more job'], { encoding: 'utf8' });
    assert.equal(commit.status, 0, commit.stderr);
    const committedAt = Date.now();
    const sha = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    // The post-commit hook prints the commit's revision page.
    assert.ok(commit.stderr.includes(`${url}revisions/${sha}`), commit.stderr);
    await waitFor(
      'compute to run the new commit on both replicas',
      async () => {
        const compute = (await shards()).find((x) => x.name === 'compute')!;
        return compute.replicas.length === 2 && compute.replicas.every((r) => r.state === 'in-sync' && r.applied?.revision === sha);
      },
      10_000,
      50,
    );
    const seconds = (Date.now() - committedAt) / 1000;
    assert.ok(seconds < 10, `took ${seconds} s`);
    // Only the changed shard was touched.
    const networking = (await shards()).find((x) => x.name === 'networking')!;
    assert.ok(networking.replicas.every((r) => r.applied?.revision === networkingRevision));
    // The revision page shows the new job's target and where it landed (its health follows once
    // Prometheus tried it: the tests in test/revisions/ assert that part).
    type Life = { shards: Record<string, { outcome: string; replicas: Record<string, { proven: boolean }>; targets: { job: string; change: string }[] }> };
    const life = await waitFor('the revision record to show compute applied', async () => {
      const r = (await (await fetch(`${url}v1/revisions/${sha}`)).json()) as Life;
      return r.shards?.compute?.outcome === 'applied' ? r : null;
    }, 10_000, 100);
    assert.deepEqual(life.shards.compute.targets.map((t) => `${t.job}/${t.change}`), ['demo-extra/added']);
    assert.ok(Object.values(life.shards.compute.replicas).every((r) => r.proven));
    const revisionPage = await fetch(`${url}revisions/${sha}`);
    assert.equal(revisionPage.status, 200);
    assert.match(await revisionPage.text(), /demo-extra/);

    // SIGTERM: a clean exit, and no Prometheus survives.
    demo.child.kill('SIGTERM');
    const exit = await Promise.race([demo.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000).unref())]);
    assert.ok(exit, 'the demo did not exit within 30 s of SIGTERM');
    assert.equal(exit.code, 0, demo.stderr());
    await waitFor('prometheus children to be gone', () => pids.every((p) => !alive(p)), 5000);
    assert.deepEqual(processesMentioning(tmp), [], 'processes still mention the demo directory');
    assert.deepEqual(demoDirs(tmp), [], 'the temporary directory was removed');
    assert.match(demo.stdout(), /stopped; no process left behind/);
  });

  test('--exit-after-ready: a CI smoke run on one shard with one replica', { skip: !prometheusInstalled() && 'needs /usr/bin/prometheus', timeout: 90_000 }, async () => {
    const tmp = freshTmp();
    const port = await freePort();
    const demo = startDemo(['--port', String(port), '--shards', 'compute', '--replicas', '1', '--exit-after-ready'], { TMPDIR: tmp });
    running.push(demo);
    const exit = await Promise.race([demo.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000).unref())]);
    assert.ok(exit, 'did not exit');
    assert.equal(exit.code, 0, demo.stderr());
    assert.match(demo.stdout(), new RegExp(`Dashboard:\\s+http://127\\.0\\.0\\.1:${port}/`));
    assert.match(demo.stdout(), /compute\/a/);
    assert.deepEqual(processesMentioning(tmp), []);
    assert.deepEqual(demoDirs(tmp), []);
  });
});
