// `promshard plan` reads both revisions straight from git and lists only the shards a change touches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { createGitRepo } from '../support/git-repo.ts';

const BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));
const team = (name: string, shard: string, job: string, targets: string[]) =>
  `team: ${name}\nshard: ${shard}\njobs:\n  - name: ${job}\n    targets: [${targets.map((t) => `"${t}"`).join(', ')}]\n`;

function plan(dir: string, args: string[]) {
  const r = spawnSync('node', [BIN, 'plan', '--repo', dir, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('plan lists only touched shards with job and target changes and budget', () => {
  const repo = createGitRepo({
    'scrape-configs/shards.yaml': BASIC_SHARDS_YAML,
    'scrape-configs/teams/netops/a.yaml': team('netops', 'networking', 'dhcp', ['a.internal:9100', 'b.internal:9100']),
    'scrape-configs/teams/store/a.yaml': team('store', 'storage', 'ceph', ['c.internal:9283']),
  });
  try {
    repo.write('scrape-configs/teams/netops/a.yaml', team('netops', 'networking', 'dhcp', ['a.internal:9100', 'n.internal:9100']));
    repo.write('scrape-configs/teams/netops/b.yaml', team('netops', 'networking', 'ntp', ['t.internal:9100']));
    repo.commit('change networking');
    const r = plan(`${repo.dir}/scrape-configs`, ['--base', 'HEAD~1']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /shard networking \(changed; 2 replica\(s\) reload\): 2 → 3 of 100 targets \(3%\)/);
    assert.match(r.out, /~ job dhcp \(team netops, teams\/netops\/a\.yaml\)/);
    assert.match(r.out, /\+ n\.internal:9100/);
    assert.match(r.out, /- b\.internal:9100/);
    assert.match(r.out, /\+ job ntp/);
    assert.doesNotMatch(r.out, /shard storage/);
    assert.match(r.out, /1 shard\(s\) change, 1 unchanged/);

    const md = plan(`${repo.dir}/scrape-configs`, ['--base', 'HEAD~1', '--format', 'markdown']).out;
    assert.match(md, /\| networking \| changed \| 1\/0\/1 \| \+2 \/ -1 \|/);
    const json = JSON.parse(plan(`${repo.dir}/scrape-configs`, ['--base', 'HEAD~1', '--format', 'json']).out);
    assert.deepEqual(json.shards.map((s: { shard: string }) => s.shard), ['networking']);
  } finally {
    repo.destroy();
  }
});

test('plan exits 1 when a shard goes over its max_targets budget, and 2 on an unknown ref', () => {
  const small = BASIC_SHARDS_YAML.replace('max_targets: 100 }\n    external_labels', 'max_targets: 2 }\n    external_labels');
  const repo = createGitRepo({ 'shards.yaml': small, 'teams/netops/a.yaml': team('netops', 'networking', 'dhcp', ['a.internal:1']) });
  try {
    repo.write('teams/netops/a.yaml', team('netops', 'networking', 'dhcp', ['a.internal:1', 'b.internal:1', 'c.internal:1']));
    repo.commit('grow');
    const r = plan(repo.dir, ['--base', 'HEAD~1']);
    assert.equal(r.code, 1);
    assert.match(r.out, /1 → 3 of 2 targets \(150%\) OVER BUDGET/);
    assert.equal(plan(repo.dir, ['--base', 'nope']).code, 2);
  } finally {
    repo.destroy();
  }
});
