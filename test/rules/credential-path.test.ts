import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import teamSchema from '../../schemas/team-file.schema.json' with { type: 'json' };
import shardsSchema from '../../schemas/shards.schema.json' with { type: 'json' };
import { YamlLocator, type PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { assertDocExamples, assertFinding, findingsOf, team, teamFindings } from './helpers.ts';
import { BASIC_SHARDS_YAML, compileFiles, compileTeamFile } from '../support/repo-fixture.ts';

const RULE = 'credential-path';
const OWN = '/etc/prometheus/secrets/netops';
const OTHER = '/etc/prometheus/secrets/storage';

/** A netops job (https, one target) carrying the given YAML lines, each indented under the job. */
const jobWith = (lines: string) => team(`  - name: a\n    scheme: https\n    targets: [n:1]\n${lines}`);

/** Findings for one path put in every key the schema has, in one file. */
function everyKey(path: string) {
  return teamFindings(
    RULE,
    jobWith(
      `    tls:\n      ca_file: "${path}"\n      cert_file: "${path}"\n      key_file: "${path}"\n` +
        `    basic_auth:\n      username: u\n      password_file: "${path}"\n`,
    ) + `  - name: b\n    scheme: https\n    targets: [n:2]\n    authorization:\n      credentials_file: "${path}"\n`,
  );
}

test('credential-path: docs examples', () => {
  assertDocExamples(RULE, [
    { line: 9, column: 16, includes: ['tls.ca_file "/etc/prometheus/secrets/netops/../storage/internal-ca.pem" contains a ".." segment', 'must lie under /etc/prometheus/secrets/netops/'] },
    { line: 12, column: 22, includes: ['basic_auth.password_file', '("/etc/prometheus/secrets/storage/ceph-exporter.password" once normalised)', 'must lie under /etc/prometheus/secrets/netops/'] },
  ]);
});

test('credential-path: own-team paths are accepted in every key, including spellings that normalise inside', () => {
  for (const p of [`${OWN}/x.pem`, `${OWN}/sub/dir/x.pem`, `${OWN}//x.pem`, `${OWN}/./x.pem`, `/etc//prometheus/./secrets/netops/x`, `${OWN}/x/`, `${OWN}/..x`, `${OWN}/x..`]) {
    assert.deepEqual(everyKey(p), [], p);
  }
  const c = compileTeamFile(jobWith(`    tls: { ca_file: ${OWN}/ca.pem }\n    basic_auth: { username: u, password_file: ${OWN}/pw }\n`));
  assert.equal(c.valid, true, JSON.stringify(c.findings));
});

test('credential-path: another team\'s path is refused in each key, at the value\'s line:col, naming the allowed prefix', () => {
  const f = everyKey(`${OTHER}/x`);
  assert.equal(f.length, 5);
  const at = [
    [8, 16, 'tls.ca_file'],
    [9, 18, 'tls.cert_file'],
    [10, 17, 'tls.key_file'],
    [13, 22, 'basic_auth.password_file'],
    [18, 25, 'authorization.credentials_file'],
  ] as const;
  at.forEach(([line, column, key], i) =>
    assertFinding(f[i], { ruleId: RULE, line, column, includes: [`${key} "${OTHER}/x" is outside team netops's secrets directory`, `must lie under ${OWN}/`] }),
  );
});

test('credential-path: traversal, doubled slashes, prefix confusion, the directory itself and relative paths are refused', () => {
  const refused: [string, string][] = [
    [`${OWN}/../storage/x`, 'contains a ".." segment'],
    [`${OWN}/sub/../x`, 'contains a ".." segment'], // lexically inside, but `sub` may be a symbolic link
    [`${OWN}/..`, 'contains a ".." segment'],
    ['/etc/prometheus/secrets//storage/x', 'once normalised'],
    ['/etc/prometheus/secrets/./storage/x', 'once normalised'],
    ['/etc/prometheus/secrets/netopsx/x', 'is outside'],
    ['/etc/prometheus/secrets/netops-b/x', 'is outside'],
    ['/etc/prometheus/secretsnetops/x', 'is outside'],
    ['/etc/prometheus/secrets/NETOPS/x', 'is outside'],
    ['/etc/prometheus/secrets/x', 'is outside'],
    ['/etc/shadow', 'is outside'],
    [OWN, 'names a directory'],
    [`${OWN}/`, 'names a directory'],
    [`${OWN}//.//`, 'names a directory'],
    ['/etc/prometheus/secrets', 'is outside'],
    ['/', 'names a directory'],
    ['//', 'names a directory'],
    ['netops/x', 'is a relative path'],
    ['./x', 'is a relative path'],
    ['../secrets/netops/x', 'is a relative path'],
    ['~/x', 'is a relative path'],
    ['', 'is a relative path'],
    [` ${OWN}/x`, 'is a relative path'],
  ];
  for (const [p, why] of refused) {
    const f = everyKey(p);
    assert.equal(f.length, 5, `${JSON.stringify(p)}: ${f.map((x) => x.message).join('\n')}`);
    for (const x of f) assert.ok(x.message.includes(why) && x.message.includes(`must lie under ${OWN}/`), `${JSON.stringify(p)}: ${x.message}`);
  }
});

test('credential-path: a team whose name extends another\'s gets neither the shorter nor the longer directory', () => {
  const fileFor = (t: string, p: string) => `team: ${t}\nshard: networking\njobs:\n  - name: j-${t}\n    scheme: https\n    targets: [${t}:1]\n    tls: { ca_file: ${p} }\n`;
  const c = compileFiles({
    'shards.yaml': BASIC_SHARDS_YAML,
    'teams/netops/a.yaml': fileFor('netops', '/etc/prometheus/secrets/netops-b/ca.pem'),
    'teams/netops-b/a.yaml': fileFor('netops-b', '/etc/prometheus/secrets/netops/ca.pem'),
  });
  const f = findingsOf(c, RULE);
  assert.deepEqual(f.map((x) => x.file), ['teams/netops-b/a.yaml', 'teams/netops/a.yaml']);
  assert.ok(f[0].message.includes('must lie under /etc/prometheus/secrets/netops-b/'));
  assert.ok(f[1].message.includes('must lie under /etc/prometheus/secrets/netops/'));
});

test('credential-path: the owning team is the folder, not the team: value', () => {
  const text = `team: storage\nshard: networking\njobs:\n  - name: a\n    scheme: https\n    targets: [n:1]\n    tls: { ca_file: ${OTHER}/ca.pem }\n`;
  const c = compileTeamFile(text, 'teams/netops/main.yaml');
  assert.ok(findingsOf(c, 'team-folder-mismatch').length === 1);
  const [f] = findingsOf(c, RULE);
  assertFinding(f, { ruleId: RULE, line: 7, column: 21, includes: `must lie under ${OWN}/` });
});

test('credential-path: a custom secrets_root is honoured (and normalised), and the model carries it', () => {
  const shards = `secrets_root: /srv//secrets/\n${BASIC_SHARDS_YAML}`;
  const own = compileTeamFile(jobWith('    tls: { ca_file: /srv/secrets/netops/ca.pem }\n'), undefined, shards);
  assert.equal(own.valid, true, JSON.stringify(own.findings));
  assert.equal(own.model!.secretsRoot, '/srv/secrets');
  const def = compileTeamFile(jobWith('    tls: { ca_file: /etc/prometheus/secrets/netops/ca.pem }\n'), undefined, shards);
  const [f] = findingsOf(def, RULE);
  assertFinding(f, { ruleId: RULE, line: 7, column: 21, includes: ['is outside team netops', 'must lie under /srv/secrets/netops/'] });
  assert.equal(compileTeamFile(jobWith('')).model!.secretsRoot, '/etc/prometheus/secrets');
});

test('credential-path: a secrets_root that is relative, climbs with .. or is / is refused at its line', () => {
  for (const [root, why] of [
    ['secrets', 'must be an absolute path'],
    ['/srv/a/../secrets', 'must not contain ".." segments'],
    ['/', 'must not be / itself'],
    ['//.', 'must not be / itself'],
  ]) {
    const c = compileTeamFile(jobWith(`    tls: { ca_file: ${OTHER}/ca.pem }\n`), undefined, `secrets_root: "${root}"\n${BASIC_SHARDS_YAML}`);
    const f = findingsOf(c, RULE);
    assert.equal(f.length, 1, root);
    assertFinding(f[0], { ruleId: RULE, file: 'shards.yaml', line: 1, column: 15, includes: why });
    assert.equal(c.valid, false);
  }
});

test('credential-path: *_file keys the schema refuses today are checked too (oauth2, kubernetes discovery, proxy)', () => {
  const f = teamFindings(
    RULE,
    jobWith(
      `    oauth2: { client_id: x, client_secret_file: ${OTHER}/s, tls_config: { key_file: ${OTHER}/k } }\n` +
        `    discovery:\n      kubernetes: { role: pod, tls_config: { cert_file: ${OTHER}/c }, authorization: { credentials_file: ${OWN}/t } }\n`,
    ),
  );
  assert.deepEqual(
    f.map((x) => x.message.split(' "')[1].split(' ').pop()),
    ['oauth2.client_secret_file', 'oauth2.tls_config.key_file', 'discovery.kubernetes.tls_config.cert_file'],
  );
});

test('credential-path: label and params names ending in _file are not paths', () => {
  assert.deepEqual(teamFindings(RULE, jobWith('    labels: { config_file: /x }\n    params: { log_file: [/y] }\n')), []);
});

// Every property ending in _file that the team-file schema allows, as a path from the job. Follows
// $ref, items and additionalProperties, so a key added anywhere under a job is found.
function schemaFileKeys(): PathSegment[][] {
  const defs = teamSchema.$defs as Record<string, unknown>;
  const out: PathSegment[][] = [];
  const walk = (node: unknown, path: PathSegment[], seen: Set<string>) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown>;
    if (typeof n.$ref === 'string' && n.$ref.startsWith('#/$defs/')) {
      const name = n.$ref.slice('#/$defs/'.length);
      if (!seen.has(name)) walk(defs[name], path, new Set([...seen, name]));
    }
    if (n.properties) {
      for (const [k, v] of Object.entries(n.properties as Record<string, unknown>)) {
        if (k.endsWith('_file')) out.push([...path, k]);
        walk(v, [...path, k], seen);
      }
    }
    if (n.items) walk(n.items, [...path, 0], seen);
    if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, [...path, 'any_key'], seen);
    for (const key of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(n[key])) for (const s of n[key] as unknown[]) walk(s, path, seen);
  };
  walk(defs.job, [], new Set(['job']));
  return out;
}

function setAt(obj: Record<string, unknown>, path: PathSegment[], value: string): void {
  let node: Record<string | number, unknown> = obj;
  path.forEach((seg, i) => {
    if (i === path.length - 1) node[seg] = value;
    else node = (node[seg] ??= typeof path[i + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
  });
}

test('credential-path: every *_file key the team-file schema allows is checked, at its exact position', () => {
  const keys = schemaFileKeys();
  // The walk itself works: it finds at least the keys the schema has today.
  for (const k of ['tls.ca_file', 'tls.cert_file', 'tls.key_file', 'basic_auth.password_file', 'authorization.credentials_file']) {
    assert.ok(keys.some((p) => p.join('.') === k), `schema walk did not find ${k}`);
  }
  for (const keyPath of keys) {
    const job: Record<string, unknown> = { name: 'a', scheme: 'https', targets: ['n:1'] };
    setAt(job, keyPath, `${OTHER}/secret`);
    const text = stringify({ team: 'netops', shard: 'networking', jobs: [job] });
    const f = teamFindings(RULE, text);
    assert.equal(f.length, 1, `${keyPath.join('.')} is not checked by ${RULE}:\n${text}`);
    const at = new YamlLocator(text).locate(['jobs', 0, ...keyPath]).start;
    assert.deepEqual({ line: f[0].start.line, column: f[0].start.column }, at, keyPath.join('.'));
  }
});

test('shards.yaml *_file keys are only remote_write credentials, and remote-write confines every one to the observability team', () => {
  // The schema reaches its *_file keys through $refs (into team-file.schema.json for basic_auth,
  // authorization and tls): follow them, or a key added there would slip past this guard.
  const resolve = (node: Record<string, unknown>): Record<string, unknown> => {
    const ref = node.$ref;
    if (typeof ref !== 'string') return node;
    const [doc, pointer] = ref.split('#');
    let at: unknown = doc === 'team-file.schema.json' ? teamSchema : shardsSchema;
    for (const seg of pointer.split('/').filter(Boolean)) at = (at as Record<string, unknown>)[seg];
    return resolve(at as Record<string, unknown>);
  };
  const found: string[][] = [];
  const walk = (node: Record<string, unknown>, path: string[]) => {
    if (path.length > 12) return;
    const n = resolve(node);
    const props = (n.properties ?? {}) as Record<string, Record<string, unknown>>;
    for (const [k, v] of Object.entries(props)) {
      if (k.endsWith('_file')) found.push([...path, k]);
      walk(v, [...path, k]);
    }
    if (n.items) walk(n.items as Record<string, unknown>, [...path, '[]']);
  };
  walk(shardsSchema as unknown as Record<string, unknown>, []);
  const expected = ['basic_auth.password_file', 'authorization.credentials_file', 'tls_config.ca_file', 'tls_config.cert_file', 'tls_config.key_file'];
  const asText = (p: string[]) => p.join('.');
  assert.deepEqual(
    found.map(asText).sort(),
    [...expected.map((k) => `remote_write.[].${k}`), ...expected.map((k) => `shards.[].remote_write.[].${k}`)].sort(),
  );
  // Each key, fleet-level and per shard, outside <secrets_root>/<observability_team>/ is a finding at that key.
  for (const keys of found) {
    const entry: Record<string, unknown> = { url: 'https://store.example.org/api/v1/push' };
    const inner = keys.slice(keys.lastIndexOf('[]') + 1);
    setAt(entry, inner, `${OWN}/x`);
    const doc: Record<string, unknown> = { observability_team: 'observability', shards: [{ name: 'networking', budget: { max_series: 1, max_targets: 1 } }] };
    if (keys[0] === 'remote_write') doc.remote_write = [entry];
    else (doc.shards as Record<string, unknown>[])[0].remote_write = [entry];
    const text = stringify(doc);
    const f = findingsOf(compileFiles({ 'shards.yaml': text }), 'remote-write');
    assert.equal(f.length, 1, `${asText(keys)} is not confined:\n${text}`);
    assert.ok(f[0].message.includes('/etc/prometheus/secrets/observability/'), f[0].message);
    const path = keys[0] === 'remote_write' ? ['remote_write', 0, ...inner] : ['shards', 0, 'remote_write', 0, ...inner];
    const at = new YamlLocator(text).locate(path).start;
    assert.deepEqual({ line: f[0].start.line, column: f[0].start.column }, at, asText(keys));
  }
});
