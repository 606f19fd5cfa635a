// The revision store's bounds and look-ups, and which targets a revision counts as added or changed
// (central-controller/revision-life.ts, revision-recorder.ts), on hand-built compiled shards.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevisionLives, revisionTouchesTeam, type RevisionLife } from '../../central-controller/revision-life.ts';
import { changedTargets } from '../../central-controller/revision-recorder.ts';
import type { CompiledJob, CompiledShard } from '../../schemas/model.ts';

const life = (sha: string): RevisionLife => ({ sha, generation: null, message: 'm', author: 'a', committedAt: '', receivedAt: '', compiledAt: null, valid: null, findingCount: 0, findings: [], quarantined: [], held: null, shards: {} });

function job(name: string, targets: string[], extra: Partial<CompiledJob['spec']> = {}): CompiledJob {
  return {
    name,
    team: 'web',
    shard: 'apps',
    source: { file: 'teams/web/a.yaml', line: 1, column: 1 },
    spec: { name, targets, interval: '5s', timeout: '4s', limits: {}, ...extra },
    targets: targets.map((address) => ({ address, labels: {}, source: { file: 'teams/web/a.yaml', line: 2, column: 1 } })),
    cardinality: {} as CompiledJob['cardinality'],
  };
}
const shard = (jobs: CompiledJob[]): CompiledShard => ({ name: 'apps', replicas: 2, budget: { max_series: 1, max_targets: 1 }, externalLabels: {}, evaluationInterval: '30s', interval: '5s', timeout: '4s', jobs });

describe('revision store', () => {
  it('keeps the last N revisions, newest first, finds one by a 7+ character prefix, and tells subscribers', () => {
    const store = new RevisionLives(3);
    const seen: string[] = [];
    const off = store.onChange((sha) => seen.push(sha));
    for (const sha of ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(40)]) {
      store.upsert(sha, () => life(sha));
      store.changed(sha);
    }
    assert.deepEqual(store.list().map((r) => r.sha[0]), ['d', 'c', 'b']);
    assert.equal(store.get('a'.repeat(40)), undefined);
    assert.equal(store.get('ccccccc')?.sha, 'c'.repeat(40));
    assert.equal(store.get('cccccc'), undefined, 'a prefix under 7 characters finds nothing');
    assert.equal(seen.length, 4);
    off();
    store.changed('d'.repeat(40));
    assert.equal(seen.length, 4);
    assert.equal(store.upsert('d'.repeat(40), () => assert.fail('not created twice')).sha, 'd'.repeat(40));
  });
});

describe('added and changed targets', () => {
  it('a new job and a new address are added; a job whose settings changed has its targets changed; a target joining a job changes nothing else', () => {
    const before = shard([job('web', ['h1:80', 'h2:80']), job('api', ['h3:80']), job('gone', ['h9:80'])]);
    const after = shard([job('web', ['h1:80', 'h2:80', 'h4:80']), job('api', ['h3:80'], { metrics_path: '/m' }), job('new', ['h5:80'])]);
    assert.deepEqual(
      changedTargets(before, after).map((t) => `${t.job} ${t.address} ${t.change} ${t.health}`),
      ['web h4:80 added unknown', 'api h3:80 changed unknown', 'new h5:80 added unknown'],
    );
  });

  it('moving a job within its file (another source line) is no change', () => {
    const moved = job('web', ['h1:80']);
    moved.source = { file: 'teams/web/a.yaml', line: 40, column: 3 };
    assert.deepEqual(changedTargets(shard([job('web', ['h1:80'])]), shard([moved])), []);
  });

  it('a revision touches a team through its targets or its quarantined files', () => {
    const r = life('e'.repeat(40));
    r.shards.apps = { changed: true, outcome: 'applied', replicas: {}, targets: changedTargets(shard([]), shard([job('web', ['h1:80'])])), targetsSettled: false };
    assert.equal(revisionTouchesTeam(r, 'web'), true);
    assert.equal(revisionTouchesTeam(r, 'db'), false);
    r.quarantined.push({ file: 'teams/db/x.yaml', team: 'db', kept: null });
    assert.equal(revisionTouchesTeam(r, 'db'), true);
  });
});
