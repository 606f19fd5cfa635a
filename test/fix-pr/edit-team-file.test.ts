// The team-file edit on its own: every shape a job's metric_relabel_configs can take, every byte
// outside the insertion kept (on this project's own example team files too, which yaml's
// Document.toString() would rewrite), and the refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FixRefused, mergeFixIntoTeamFile } from '../../core/cardinality-fix/edit-team-file.ts';
import type { RelabelConfig } from '../../schemas/model.ts';

const DROP: RelabelConfig[] = [{ action: 'labeldrop', regex: 'request_id' }];
const PATH_RULES: RelabelConfig[] = [
  { source_labels: ['path'], regex: '([^?#]*)[?#].*', target_label: 'path', replacement: '${1}', action: 'replace' },
  { source_labels: ['path'], regex: '((?:/[^/?#]*){2}/)(?:[0-9]+)([/?#].*)?', target_label: 'path', replacement: '${1}:id${2}', action: 'replace' },
];

const rulesOf = (text: string, job: string) => (parse(text) as { jobs: { name: string; metric_relabel_configs?: unknown }[] }).jobs.find((j) => j.name === job)!.metric_relabel_configs;
/** Lines of `after` that are not in `before`, with `before` being `after` minus one contiguous block. */
function insertedBlock(before: string, after: string): string {
  const a = after.split('\n');
  const b = before.split('\n');
  let i = 0;
  while (i < b.length && a[i] === b[i]) i++;
  const n = a.length - b.length;
  assert.deepEqual([...a.slice(0, i), ...a.slice(i + n)], b, 'only lines were inserted, in one place');
  return a.slice(i, i + n).join('\n');
}

test('a key holding [] or nothing becomes a block list; a non-indented list keeps its style', () => {
  const text = `team: payments
shard: checkout
jobs:
- name: a
  targets: ["a:1"]
  metric_relabel_configs: []
- name: b
  targets: ["b:1"]
  metric_relabel_configs:
- name: c
  targets: ["c:1"]
  metric_relabel_configs:
  - regex: tmp_.*
    action: labeldrop
- name: d
  targets: ["d:1"]
  metric_relabel_configs: [{regex: x, action: labeldrop}]
`;
  for (const job of ['a', 'b']) {
    const e = mergeFixIntoTeamFile(text, 'f.yaml', job, DROP);
    assert.deepEqual(rulesOf(e.text, job), [{ regex: 'request_id', action: 'labeldrop' }]);
    assert.equal(e.kept, 0);
  }
  const c = mergeFixIntoTeamFile(text, 'f.yaml', 'c', PATH_RULES, 'fix');
  assert.equal(insertedBlock(text, c.text).split('\n')[0], '  # fix', 'at the column of the existing dashes');
  assert.deepEqual(rulesOf(c.text, 'c'), [{ regex: 'tmp_.*', action: 'labeldrop' }, ...PATH_RULES]);
  const d = mergeFixIntoTeamFile(text, 'f.yaml', 'd', DROP);
  assert.deepEqual(rulesOf(d.text, 'd'), [{ regex: 'x', action: 'labeldrop' }, { regex: 'request_id', action: 'labeldrop' }], 'a flow list is rewritten as a block list with its rules first');
});

test('on every example team file of this repository, a fix is a pure insertion and the result parses as the old data plus the rules', () => {
  const root = new URL('../../scrape-configs/teams/', import.meta.url).pathname;
  let files = 0;
  for (const team of readdirSync(root)) {
    for (const name of readdirSync(join(root, team))) {
      const text = readFileSync(join(root, team, name), 'utf8');
      const data = parse(text) as { jobs: { name: string; metric_relabel_configs?: RelabelConfig[] }[] };
      for (const job of data.jobs) {
        const e = mergeFixIntoTeamFile(text, `teams/${team}/${name}`, job.name, DROP, 'promshard cardinality fix');
        const block = insertedBlock(text, e.text);
        assert.match(block, /# promshard cardinality fix\n\s+- regex: request_id\n\s+action: labeldrop$/);
        assert.deepEqual(rulesOf(e.text, job.name), [...(job.metric_relabel_configs ?? []), { regex: 'request_id', action: 'labeldrop' }]);
      }
      files++;
    }
  }
  assert.ok(files >= 10, `${files} files`);
});

test('refusals: the job is gone, every rule is already there, a flow-style job, not a team file', () => {
  const text = 'team: payments\nshard: checkout\njobs:\n  - name: api\n    targets: ["a:1"]\n    metric_relabel_configs:\n      - action: labeldrop\n        regex: request_id\n  - {name: flow, targets: ["b:1"]}\n';
  assert.throws(() => mergeFixIntoTeamFile(text, 'teams/payments/x.yaml', 'gone', DROP), (e: Error) => e instanceof FixRefused && /teams\/payments\/x\.yaml: job "gone" is not in this file any more/.test(e.message));
  assert.throws(() => mergeFixIntoTeamFile(text, 'teams/payments/x.yaml', 'api', DROP), (e: Error) => e instanceof FixRefused && /teams\/payments\/x\.yaml:4: job "api" already has every rule of this fix/.test(e.message));
  assert.throws(() => mergeFixIntoTeamFile(text, 'teams/payments/x.yaml', 'flow', DROP), (e: Error) => e instanceof FixRefused && /x\.yaml:9:5: job "flow" is written as a flow mapping/.test(e.message));
  assert.throws(() => mergeFixIntoTeamFile('team: payments\n', 'teams/payments/x.yaml', 'api', DROP), (e: Error) => e instanceof FixRefused && /no jobs list/.test(e.message));
  // Only the rules the file lacks are added (the file may be ahead of what Prometheus runs).
  const e = mergeFixIntoTeamFile(text, 'teams/payments/x.yaml', 'api', [...DROP, { action: 'labeldrop', regex: 'session' }]);
  assert.deepEqual(e.added, [{ action: 'labeldrop', regex: 'session' }]);
});

test('a file without a final newline and a job that is the last thing in it', () => {
  const text = 'team: payments\nshard: checkout\njobs:\n  - name: api\n    targets: ["a:1"]  # last line';
  const e = mergeFixIntoTeamFile(text, 'f.yaml', 'api', DROP);
  assert.ok(e.text.startsWith(text + '\n'), e.text);
  assert.deepEqual(rulesOf(e.text, 'api'), [{ regex: 'request_id', action: 'labeldrop' }]);
});
