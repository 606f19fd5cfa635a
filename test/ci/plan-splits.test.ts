// `promshard plan` on split shards: per-split targets (the hashmod Prometheus applies, checked against
// a real Prometheus in test/placement/split-scrape.test.ts), series from the controller's /v1/series,
// budget and skew warnings, and --suggest-split.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { createGitRepo } from '../support/git-repo.ts';
import { compileFiles } from '../support/repo-fixture.ts';
import { splitOfTarget } from '../../core/placement/hashmod.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

const LIGHT = Array.from({ length: 40 }, (_, i) => `light-${i}.internal:9100`);
const HEAVY = Array.from({ length: 4 }, (_, i) => `heavy-${i}.internal:9100`);
const shardsYaml = (split: number, maxTargets: number, maxSeries = 100000) =>
  `shards:\n  - name: web\n    split: ${split}\n    budget: { max_series: ${maxSeries}, max_targets: ${maxTargets} }\n  - name: other\n    budget: { max_series: 1000, max_targets: 100 }\n`;
const teamYaml = `team: web\nshard: web\njobs:\n  - name: light\n    targets: [${LIGHT.join(', ')}]\n  - name: heavy\n    targets: [${HEAVY.join(', ')}]\n`;

function plan(dir: string, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('node', [BIN, 'plan', '--repo', dir, '--base', 'HEAD', '--head', 'worktree', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** Targets each of `count` splits keeps, computed target by target. */
function shares(count: number): number[] {
  const c = compileFiles({ 'shards.yaml': shardsYaml(count, 1000), 'teams/web/main.yaml': teamYaml });
  const shard = c.model!.shards.find((s) => s.name === 'web')!;
  const out = new Array<number>(count).fill(0);
  for (const job of shard.jobs) for (const t of job.targets) out[splitOfTarget(job, t, '__address__', count)]! += 1;
  return out;
}

test('plan: per-split targets, a split over max_targets is warned about, --suggest-split gives the smallest count that fits', async () => {
  const budget = 12;
  const repo = createGitRepo({ 'shards.yaml': shardsYaml(2, budget), 'teams/web/main.yaml': teamYaml });
  try {
    const r = await plan(repo.dir, ['--suggest-split']);
    const two = shares(2);
    assert.match(r.out, new RegExp(`web\\.s0: ${two[0]} targets`));
    assert.match(r.out, new RegExp(`web\\.s1: ${two[1]} targets`));
    assert.match(r.out, new RegExp(`warning: ${Math.max(...two)} targets, over max_targets ${budget}`));
    let n = 1;
    while (Math.max(...shares(n)) > budget) n++;
    assert.ok(n > 2 && Math.max(...shares(n - 1)) > budget);
    const s = shares(n);
    const mean = 44 / n;
    const skew = Math.round(((Math.max(...s) - mean) / mean) * 1000) / 10;
    assert.match(r.out, new RegExp(`splits of shard web: 2 by __address__[\\s\\S]*suggestion: split: ${n} \\(smallest that keeps every split under budget\\): largest split ${Math.max(...s)} targets; predicted skew \\+${skew}%`));
    // The unsplit shard gets its suggestion too: 1.
    assert.match(r.out, /splits of shard other: 1 by __address__[^\n]*\n  suggestion: split: 1 /);
    const json = JSON.parse((await plan(repo.dir, ['--format', 'json'])).out);
    assert.deepEqual(json.splits.map((x: { shard: string }) => x.shard), ['web']);
    assert.deepEqual(json.splits[0].splits.map((x: { targets: number }) => x.targets), two);
  } finally {
    repo.destroy();
  }
});

test('plan --controller: series per split from the live per-job series, and a split more than --skew above the mean is warned about', async () => {
  // The controller's GET /v1/series answers per job (and per split): series over targets gives the
  // per-target figure. heavy targets bring 500 series each, light ones 10.
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    if (req.url === '/v1/flags') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"flags":[]}');
    if (req.url !== '/v1/series') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      jobs: [
        { shard: 'web.s0', job: 'light', series: 200, targets: 20 },
        { shard: 'web.s1', job: 'light', series: 200, targets: 20 },
        { shard: 'web.s0', job: 'heavy', series: 1000, targets: 2 },
        { shard: 'web.s1', job: 'heavy', series: 1000, targets: 2 },
      ],
      shards: {},
    }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const repo = createGitRepo({ 'shards.yaml': shardsYaml(3, 1000), 'teams/web/main.yaml': teamYaml });
  try {
    const c = compileFiles({ 'shards.yaml': shardsYaml(3, 1000), 'teams/web/main.yaml': teamYaml });
    const shard = c.model!.shards.find((s) => s.name === 'web')!;
    const series = [0, 0, 0];
    for (const job of shard.jobs) for (const t of job.targets) series[splitOfTarget(job, t, '__address__', 3)]! += job.name === 'heavy' ? 500 : 10;
    const mean = series.reduce((a, b) => a + b, 0) / 3;
    const r = await plan(repo.dir, ['--controller', `http://127.0.0.1:${port}`, '--skew', '10']);
    for (const [i, v] of series.entries()) {
      assert.match(r.out, new RegExp(`web\\.s${i}: \\d+ targets, about ${v} series`));
      const over = Math.round(((v - mean) / mean) * 100);
      if ((v - mean) / mean > 0.1) assert.match(r.out, new RegExp(`web\\.s${i}:[^\\n]*\\n    warning: ${over}% above the mean of the shard's splits \\(limit 10%\\)`));
    }
    assert.ok(series.some((v) => (v - mean) / mean > 0.1), `the fixture must be skewed: ${series}`);
    assert.match(r.out, /series over its live targets/);
    // The live notes and the split estimates share one answer.
    assert.deepEqual(asked.filter((u) => u === '/v1/series'), ['/v1/series'], asked.join(' '));
  } finally {
    server.close();
    repo.destroy();
  }
});

test('plan on a change of split layout: how many targets move, which splits need new replicas, which are retired after the overlap', async () => {
  const repo = createGitRepo({ 'shards.yaml': shardsYaml(2, 1000), 'teams/web/main.yaml': teamYaml });
  try {
    repo.write('shards.yaml', shardsYaml(3, 1000));
    const c = compileFiles({ 'shards.yaml': shardsYaml(3, 1000), 'teams/web/main.yaml': teamYaml });
    const shard = c.model!.shards.find((s) => s.name === 'web')!;
    let moved = 0;
    for (const job of shard.jobs) for (const t of job.targets) if (splitOfTarget(job, t, '__address__', 2) !== splitOfTarget(job, t, '__address__', 3)) moved++;
    const r = await plan(repo.dir, []);
    assert.match(r.out, /resharding web: split 2 by __address__ → split 3 by __address__/);
    assert.match(r.out, new RegExp(`  ${moved} of ${LIGHT.length + HEAVY.length} static targets move; each stays on its old split until its new split has scraped it`));
    assert.match(r.out, /start 2 Prometheus \+ agent replica\(s\) for each new split before merging: web\.s2\n/);
    assert.doesNotMatch(r.out, /retired after the overlap/);
    // Unsplit → split 2: every target moves (the unit's name changes), and the unsplit shard is retired.
    repo.write('shards.yaml', shardsYaml(1, 1000));
    repo.commit('unsplit');
    repo.write('shards.yaml', shardsYaml(2, 1000));
    const j = JSON.parse((await plan(repo.dir, ['--format', 'json'])).out);
    assert.deepEqual(j.reshards, [{ shard: 'web', from: 'unsplit', to: 'split 2 by __address__', movedTargets: 44, staticTargets: 44, newSplits: ["web.s0", "web.s1"], replicas: 2, retiredSplits: ['web'] }]);
    // No layout change: nothing said.
    repo.commit('split 2');
    assert.doesNotMatch((await plan(repo.dir, [])).out, /resharding/);
  } finally {
    repo.destroy();
  }
});
