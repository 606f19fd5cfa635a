// `promshard validate` as CI runs it: a real process, real files, real git.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BASIC_SHARDS_YAML, writeRepository } from '../support/repo-fixture.ts';
import { createGitRepo } from '../support/git-repo.ts';

const BIN = fileURLToPath(new URL('../../bin/promshard.mjs', import.meta.url));
const GOOD = 'team: netops\nshard: networking\njobs:\n  - name: dhcp\n    targets: ["hv1.nyc3.internal:9100"]\n';
const TYPO = 'team: netops\nshard: networking\njobs:\n  - name: dhcp\n    intervall: 30s\n    targets: ["hv1.nyc3.internal:9100"]\n';

function validate(args: string[], cwd?: string) {
  const r = spawnSync('node', [BIN, 'validate', ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('exit 0 and a summary on a valid repository', () => {
  const root = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': GOOD });
  const r = validate(['--repo', root]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /2 file\(s\) checked: 0 error\(s\), 0 warning\(s\)/);
});

test('exit 1 and one finding per line as path:line:col: severity [rule-id] message', () => {
  const root = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': TYPO });
  const r = validate(['--repo', '.'], root);
  assert.equal(r.code, 1);
  assert.match(r.out, /^teams\/netops\/a\.yaml:5:5: error \[unknown-key\] unknown key "intervall" in jobs\[0\] \(did you mean "interval"\?\)$/m);
});

test('exit 2 on usage errors', () => {
  assert.equal(validate(['--format', 'xml', '--repo', '.']).code, 2);
  assert.equal(validate(['--no-such-flag']).code, 2);
  assert.equal(validate(['--repo', '/nonexistent/dir']).code, 2);
});

test('github format: annotations with file, line, col, end and title, then a summary group', () => {
  const root = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': TYPO });
  const r = validate(['--repo', root, '--format', 'github']);
  assert.equal(r.code, 1);
  const line = r.out.split('\n').find((l) => l.startsWith('::error '))!;
  assert.match(line, /file=.*teams\/netops\/a\.yaml,line=5,col=5,endLine=5,endColumn=14,title=unknown-key::unknown key "intervall"/);
  assert.match(r.out, /::group::promshard: 2 file\(s\) checked: 1 error\(s\)/);
});

test('json and sarif formats carry every finding with positions', () => {
  const root = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': TYPO });
  const j = JSON.parse(validate(['--repo', root, '--format', 'json']).out);
  assert.equal(j.valid, false);
  assert.equal(j.findings[0].ruleId, 'unknown-key');
  assert.deepEqual(j.findings[0].start, { line: 5, column: 5 });
  const s = JSON.parse(validate(['--repo', root, '--format', 'sarif']).out);
  assert.equal(s.version, '2.1.0');
  const result = s.runs[0].results[0];
  assert.equal(result.ruleId, 'unknown-key');
  assert.equal(result.level, 'error');
  assert.deepEqual(result.locations[0].physicalLocation.region, { startLine: 5, startColumn: 5, endLine: 5, endColumn: 14 });
  assert.ok(s.runs[0].tool.driver.rules.some((r: { id: string }) => r.id === 'unknown-key'));
});

test('--base: findings on changed files are errors; pre-existing ones elsewhere are warnings', () => {
  const repo = createGitRepo({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/old/a.yaml': TYPO.replace(/netops/g, 'old').replace('dhcp', 'legacy') });
  try {
    repo.commit('base with an old problem');
    repo.write('teams/netops/b.yaml', TYPO);
    repo.commit('change');
    const r = validate(['--repo', repo.dir, '--base', 'HEAD~1']);
    assert.equal(r.code, 1);
    assert.match(r.out, /teams\/netops\/b\.yaml:5:5: error \[unknown-key\]/);
    assert.match(r.out, /teams\/old\/a\.yaml:5:5: warning \[unknown-key\] .*already present at HEAD~1/);
    // Without a problem in the changed file, only warnings remain: exit 0.
    repo.write('teams/netops/b.yaml', GOOD);
    repo.commit('fix');
    assert.equal(validate(['--repo', repo.dir, '--base', 'HEAD~2']).code, 0);
  } finally {
    repo.destroy();
  }
});
