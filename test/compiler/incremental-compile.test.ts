// The controller's incremental compile (a CompileCache reused across revisions) must equal a full
// compile of every revision: same findings, same model, same rendered bytes. Random edits on a real
// git repository, read the way the controller reads it (GitRepositoryReader: trees walked through a
// long-lived cat-file, unchanged subtrees and cached bytes reused), which must equal readRepositoryFromGit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGitRepo } from '../support/git-repo.ts';
import { seededRandom } from '../support/fleet.ts';
import { GitRepositoryReader, readRepositoryFromGit, type RepositorySource } from '../../core/repository/repository-source.ts';
import { GitObjectReader } from '../../core/repository/git-object-reader.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { CompileCache } from '../../core/compiler/compile-cache.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';

/** The suites' seeded PRNG (replayable), with int(n) in [0, n) as this test uses it. */
function rng(seed: number) {
  const r = seededRandom(seed);
  return { next: r.next, int: (n: number) => r.int(0, n - 1), pick: r.pick };
}

const SHARDS = ['alpha', 'beta', 'gamma', 'delta'];

function shardsYaml(variant: number): string {
  const budget = (s: string) => (variant === 1 && s === 'beta' ? 4 : 500);
  const names = variant === 2 ? SHARDS.slice(0, 3) : SHARDS;
  if (variant === 3) return 'shards:\n  - name: alpha\n    budget: { max_targets: [\n';
  const defaults = variant === 4 ? '  interval: 15s\n  timeout: 20s\n' : '  interval: 1m\n  timeout: 10s\n';
  return `defaults:\n${defaults}  max_limits: { sample_limit: 50000 }\nshards:\n${names
    .map((n) => `  - name: ${n}\n    budget: { max_series: 100000, max_targets: ${budget(n)} }\n    external_labels: { shard: ${n} }\n`)
    .join('')}`;
}

const HOSTS = ['h1.internal:9100', 'h2.internal:9100', 'h3.internal:9100', 'h4.internal:9100', 'h5.internal:9100'];

function teamFile(r: ReturnType<typeof rng>, team: string, id: string): string {
  const kind = r.int(12);
  if (kind === 0) return 'team: x\njobs:\n  - name: [unclosed\n'; // YAML error
  const shard = kind === 1 ? 'nope' : r.pick(SHARDS);
  const teamLine = kind === 2 ? 'team: someone-else' : `team: ${team}`;
  const jobs: string[] = [];
  const n = 1 + r.int(3);
  for (let j = 0; j < n; j++) {
    const name = kind === 3 && j === 0 ? 'shared-job' : `${id}-j${j}`;
    const targets = Array.from({ length: 1 + r.int(3) }, () => r.pick(HOSTS));
    const timeout = kind === 4 && j === 0 ? '\n    timeout: 5m' : '';
    const limits = kind === 5 ? '\n    limits: { sample_limit: 900000 }' : '';
    const interval = r.int(3) === 0 ? '\n    interval: 30s' : '';
    jobs.push(`  - name: ${name}${interval}${timeout}${limits}\n    labels: { owner: ${team} }\n    targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`);
  }
  return `${teamLine}\nshard: ${shard}\njobs:\n${jobs.join('\n')}\n`;
}

function comparable(c: ReturnType<typeof compileRepository>) {
  const docs = c.model ? buildShardDocuments(c.model, { revision: 'r', generation: 1, committedAt: 'now' }) : null;
  return {
    findings: JSON.parse(JSON.stringify(c.findings)),
    model: JSON.parse(JSON.stringify(c.model)),
    valid: c.valid,
    docs: docs ? [...docs.values()].map((d) => ({ shard: d.shard, hash: d.hash, files: d.files, owners: d.owners })) : null,
  };
}

for (const seed of [1, 2, 3]) {
  test(`incremental compile equals a full compile over random edits (seed ${seed})`, async () => {
    const r = rng(seed);
    const repo = createGitRepo({ 'shards.yaml': shardsYaml(0) });
    const cache = new CompileCache();
    const objects = new GitObjectReader(`${repo.dir}/.git`);
    const reader = new GitRepositoryReader(objects);
    const present = new Set<string>();
    const plain = (s: RepositorySource) => s.files.map((f) => ({ ...f, bytes: f.bytes?.toString('hex') }));
    try {
      for (let t = 0; t < 8; t++) {
        const p = `teams/t${t % 4}/f${t}.yaml`;
        repo.write(p, teamFile(r, `t${t % 4}`, `f${t}`));
        present.add(p);
      }
      repo.commit('start');
      for (let step = 0; step < 30; step++) {
        const edits = 1 + r.int(3);
        for (let e = 0; e < edits; e++) {
          const what = r.int(10);
          if (what === 0) repo.write('shards.yaml', shardsYaml(r.int(5)));
          else if (what === 1 && present.size > 2) {
            const p = r.pick([...present]);
            repo.remove(p);
            present.delete(p);
          } else if (what === 2) repo.write('teams/misplaced.yaml', 'team: x\n');
          else {
            const k = r.int(12);
            const p = `teams/t${k % 4}/f${k}.yaml`;
            repo.write(p, teamFile(r, `t${k % 4}`, `f${k}`));
            present.add(p);
          }
        }
        const sha = repo.commit(`step ${step}`);
        const source = await readRepositoryFromGit(`${repo.dir}/.git`, sha);
        const read = await reader.read(sha, '', undefined, (path, blob) => cache.bytesOf(path, blob));
        assert.deepEqual(plain(read), plain(source), `seed ${seed} step ${step}: the controller's reader differs from ls-tree + cat-file`);
        const full = comparable(compileRepository(source, { rules: ALL_RULES }));
        const incremental = comparable(compileRepository(read, { rules: ALL_RULES, cache }));
        assert.deepEqual(incremental, full, `seed ${seed} step ${step}: incremental differs from full`);
        cache.prune(source.files.filter((f) => f.blob).map((f) => ({ path: f.path, blob: f.blob! })));
        assert.ok(cache.stats().loaded <= source.files.length, 'the cache holds only files of the head');
      }
    } finally {
      objects.close();
      repo.destroy();
    }
  });
}

test('a cache hit reuses the parse and findings of unchanged blobs', async () => {
  const repo = createGitRepo({ 'shards.yaml': shardsYaml(0), 'teams/a/a.yaml': 'team: a\nshard: alpha\njobs:\n  - name: a1\n    targets: ["h1.internal:9100"]\n' });
  const cache = new CompileCache();
  try {
    const first = await readRepositoryFromGit(`${repo.dir}/.git`, 'HEAD');
    const c1 = compileRepository(first, { rules: ALL_RULES, cache });
    repo.write('teams/b/b.yaml', 'team: b\nshard: beta\njobs:\n  - name: b1\n    targets: ["h2.internal:9100"]\n');
    repo.commit('b');
    const second = await readRepositoryFromGit(`${repo.dir}/.git`, 'HEAD');
    const c2 = compileRepository(second, { rules: ALL_RULES, cache });
    const a1 = (c: typeof c1) => c.model!.shards.find((s) => s.name === 'alpha')!.jobs[0];
    assert.equal(a1(c2), a1(c1), "the unchanged file's compiled job is the same object");
    assert.equal(c2.parsed.teamFiles.find((f) => f.path === 'teams/a/a.yaml'), c1.parsed.teamFiles[0], 'its parse is reused');
  } finally {
    repo.destroy();
  }
});
