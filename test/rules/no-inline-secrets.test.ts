import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, teamFindings, team, findingsOf } from './helpers.ts';

const RULE = 'no-inline-secrets';

test('no-inline-secrets: docs examples', () => {
  assertDocExamples(RULE, [{ line: 10, column: 7, includes: 'inline secret "password" in jobs[0].basic_auth' }]);
});

test('no-inline-secrets: every secret key at any depth, never the value, with the *_file key in the hint', () => {
  const text = team(
    '  - name: a\n    scheme: https\n    targets: [n:1]\n    bearer_token: SECRET-1\n    authorization: { credentials: SECRET-2, credentials_file: /f }\n    tls: { key: SECRET-3, ca: SECRET-4 }\n    labels: { token: not-a-secret-key }\n',
  );
  const f = teamFindings(RULE, text);
  assert.deepEqual(f.map((x) => x.hint?.match(/reference it with (\S+);/)?.[1]), ['authorization.credentials_file', 'authorization.credentials_file', 'tls.key_file', 'tls.ca_file']);
  for (const x of f) assert.doesNotMatch(JSON.stringify(x), /SECRET-/);
});

test('no-inline-secrets: the whole compilation never repeats the secret', () => {
  const c = compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/a.yaml': team('  - name: a\n    targets: [n:1]\n    basic_auth: { username: u, password: "hunter2-SECRET" }\n') });
  assert.ok(findingsOf(c, RULE).length === 1);
  assert.doesNotMatch(JSON.stringify(c.findings), /hunter2/);
});

test('no-inline-secrets: secret keys at the top of a file or in shards.yaml', () => {
  const c = compileFiles({ 'shards.yaml': BASIC_SHARDS_YAML.replace('shards:\n', 'api_key: x\nshards:\n'), 'teams/netops/a.yaml': 'password: x\n' + team('  - name: a\n    targets: [n:1]\n') });
  assert.deepEqual(findingsOf(c, RULE).map((x) => `${x.file}:${x.start.line}:${x.start.column}`), ['shards.yaml:6:1', 'teams/netops/a.yaml:1:1']);
});
