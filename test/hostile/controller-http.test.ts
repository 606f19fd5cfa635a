// Hostile input against the controller: its HTTP endpoints, the git webhook, and repository files
// (an alias bomb, a huge file, a binary file committed to main must be refused with findings while
// the last good revision keeps being served).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { signWebhookBody } from '../../core/http/auth.ts';
import { MAX_FILE_BYTES } from '../../core/repository/repository-source.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { fetchStatus, rawHttp } from './helpers.ts';

const TOKEN = 'hostile-controller-admin-token-1';
const SECRET = 'hostile-controller-webhook-secret';
const SHARDS_YAML = `defaults:
  interval: 15s
  timeout: 5s
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
`;
const TEAM = 'team: netops\nshard: networking\njobs:\n  - name: routers\n    targets: ["127.0.0.1:9101"]\n';

describe('controller under hostile input', () => {
  let repo: TestGitRepo;
  let stateDir: string;
  let c: RunningController;
  let port: number;
  let goodSha: string;
  let goodHash: string;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    repo = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': TEAM });
    goodSha = repo.git('rev-parse', 'HEAD');
    stateDir = mkdtempSync(join(tmpdir(), 'promshard-hostile-ctl-'));
    c = await startController({ repo: repo.dir, stateDir, token: TOKEN, webhookSecret: SECRET, pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, webhookMaxBytes: 64 * 1024, logWrite: () => undefined });
    port = c.port;
    goodHash = c.state.shards.get('networking')!.desired!.hash;
  });
  after(async () => {
    await c?.close();
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const unharmed = async (what: string) => {
    assert.equal((await fetchStatus(`${c.url}/healthz`)).status, 200, `${what}: healthy`);
    const doc = await fetchStatus(`${c.url}/v1/shards/networking/document`, { headers: auth });
    assert.equal(doc.status, 200, what);
    assert.equal(JSON.parse(doc.text).hash, goodHash, `${what}: the last good document is still served`);
  };

  const hook = (body: string | Buffer, headers: Record<string, string | undefined>) => {
    const h: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': 'push' };
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
    return fetchStatus(`${c.url}/v1/webhook`, { method: 'POST', headers: h, body: body as BodyInit });
  };

  it('webhook: missing, wrong, other-body, other-secret, sha1 or malformed signatures are 401; oversized 413; signed non-JSON is accepted', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const cases: [string, string | Buffer, Record<string, string | undefined>, number][] = [
      ['missing signature', body, {}, 401],
      ['empty signature', body, { 'x-hub-signature-256': '' }, 401],
      ['signature of another body', body, { 'x-hub-signature-256': signWebhookBody(body + ' ', SECRET) }, 401],
      ['signature with another secret', body, { 'x-hub-signature-256': signWebhookBody(body, SECRET + 'x') }, 401],
      ['sha1 header only', body, { 'x-hub-signature': 'sha1=' + 'a'.repeat(40) }, 401],
      ['no sha256= prefix', body, { 'x-hub-signature-256': signWebhookBody(body, SECRET).slice(7) }, 401],
      ['uppercase hex', body, { 'x-hub-signature-256': 'sha256=' + signWebhookBody(body, SECRET).slice(7).toUpperCase() }, 401],
      ['garbage', body, { 'x-hub-signature-256': 'sha256=zz\u00ff' }, 401],
      ['bearer token instead of a signature', body, { authorization: `Bearer ${TOKEN}` }, 401],
      ['oversized (signed)', 'x'.repeat(100 * 1024), { 'x-hub-signature-256': signWebhookBody('x'.repeat(100 * 1024), SECRET) }, 413],
      ['oversized (unsigned)', Buffer.alloc(100 * 1024, 0x7b), {}, 413],
      ['signed non-JSON', 'not json at all {{{', { 'x-hub-signature-256': signWebhookBody('not json at all {{{', SECRET) }, 202],
      ['signed binary', Buffer.from([0, 1, 2, 255]), { 'x-hub-signature-256': signWebhookBody(Buffer.from([0, 1, 2, 255]), SECRET) }, 202],
      ['signed JSON array', '[1,2]', { 'x-hub-signature-256': signWebhookBody('[1,2]', SECRET) }, 202],
      ['signed push to another branch', JSON.stringify({ ref: 'refs/heads/evil' }), { 'x-hub-signature-256': signWebhookBody(JSON.stringify({ ref: 'refs/heads/evil' }), SECRET) }, 202],
      ['signed ref of the wrong type', JSON.stringify({ ref: { $gt: '' } }), { 'x-hub-signature-256': signWebhookBody(JSON.stringify({ ref: { $gt: '' } }), SECRET) }, 202],
    ];
    for (const [what, b, h, want] of cases) {
      const r = await hook(b, h);
      assert.equal(r.status, want, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    // Declared size over the limit: answered at once, not after waiting for a body that never comes.
    const t0 = Date.now();
    const absurd = await rawHttp(port, `POST /v1/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\nConnection: close\r\n\r\n{}`, 4000);
    assert.equal(absurd.status, 413, `absurd Content-Length: ${absurd.status}`);
    assert.ok(Date.now() - t0 < 3000);
    await c.syncNow();
    await unharmed('webhook');
  });

  it('API bodies, methods and paths: 4xx, never 5xx', async () => {
    const agentPost = (path: string, body: string, ct = 'application/json') => fetchStatus(`${c.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': ct }, body });
    for (const [what, path, body, want] of [
      ['not JSON', '/v1/agents/register', '{"shard":', [400]],
      ['array', '/v1/agents/register', '[]', [400]],
      ['wrong types', '/v1/agents/register', JSON.stringify({ shard: 1, replica: null, url: ['http://x'] }), [400]],
      ['shard traversal', '/v1/agents/register', JSON.stringify({ shard: '../etc', replica: 'a', url: 'http://127.0.0.1:1' }), [400]],
      ['javascript: url', '/v1/agents/register', JSON.stringify({ shard: 'networking', replica: 'x', url: 'javascript:alert(1)' }), [400]],
      ['url with spaces', '/v1/agents/register', JSON.stringify({ shard: 'networking', replica: 'x', url: 'http://a b' }), [400]],
      ['huge url', '/v1/agents/register', JSON.stringify({ shard: 'networking', replica: 'x', url: 'http://' + 'a'.repeat(2000) }), [400]],
      ['deep nesting', '/v1/agents/report', '['.repeat(50_000) + ']'.repeat(50_000), [400, 413]],
      ['report without status', '/v1/agents/report', JSON.stringify({ shard: 'networking', replica: 'x', url: 'http://127.0.0.1:1' }), [400]],
      ['report with status of wrong types', '/v1/agents/report', JSON.stringify({ shard: 'networking', replica: 'x', url: 'http://127.0.0.1:1', status: { applied: { hash: 5 } } }), [400]],
      ['over 1 MB', '/v1/agents/report', JSON.stringify({ pad: 'x'.repeat(1_100_000) }), [413]],
    ] as const) {
      const r = await agentPost(path, body);
      assert.ok((want as readonly number[]).includes(r.status), `${what}: ${r.status} ${r.text.slice(0, 200)}`);
    }
    const ct = await agentPost('/v1/agents/register', JSON.stringify({ shard: 'networking', replica: 'x', url: 'http://127.0.0.1:1' }), 'text/plain');
    assert.ok([400, 415].includes(ct.status), `wrong content-type: ${ct.status}`);
    for (const q of ['', '?shard=', '?shard=../../etc/passwd', '?shard[]=a&shard[]=b', '?shard=%00', `?shard=${'a'.repeat(5000)}`]) {
      const r = await fetchStatus(`${c.url}/v1/agents/desired${q}`, { headers: auth });
      assert.ok([400, 404].includes(r.status), `desired${q.slice(0, 30)}: ${r.status}`);
    }
    for (const [method, path] of [
      ['GET', '/v1/sync'],
      ['DELETE', '/v1/shards'],
      ['PUT', '/v1/repository'],
      ['GET', '/v1/webhook'],
      ['GET', '/v1/agents/register'],
      ['POST', '/v1/agents/desired'],
      ['GET', '/v1/nope'],
      ['GET', '/v1/shards/nope'],
      ['GET', '/v1/shards/%2e%2e%2f%2e%2e%2fetc%2fpasswd'],
      ['GET', '/v1/teams/%3Cscript%3E'],
      ['GET', '/v1/shards/networking/document/extra'],
    ]) {
      const r = await fetchStatus(c.url + path, { method, headers: auth });
      assert.ok([404, 405].includes(r.status), `${method} ${path}: ${r.status}`);
    }
    const ev = await fetchStatus(`${c.url}/v1/events?limit=-5&since=abc`, { headers: auth });
    assert.equal(ev.status, 200);
    for (const path of ['/v1/../v1/shards', '/v1/shards/..%2f..%2fetc%2fpasswd', '/dashboard/assets/..%2f..%2f..%2fpackage.json', '/dashboard/assets/%2e%2e/mount.ts', '/dashboard/assets/../mount.ts', '/shards/%00']) {
      const r = await rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
      assert.ok([400, 404].includes(r.status), `GET ${path}: ${r.status}`);
      assert.doesNotMatch(r.body, /"name": "promshard"|import /, `GET ${path} leaks no file`);
    }
    await unharmed('API');
  });

  for (const [what, path, content, rule, message] of [
    ['a YAML alias bomb', 'teams/netops/bomb.yaml', aliasBomb(), 'yaml-syntax', /alias/],
    ['a file over the size limit', 'teams/netops/huge.yaml', 'team: netops\n# ' + 'x'.repeat(MAX_FILE_BYTES + 10) + '\n', 'file-unreadable', /limit/],
    ['a binary file', 'teams/netops/binary.yaml', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]), 'file-unreadable', /NUL|UTF-8/],
  ] as const) {
    it(`a commit with ${what} is quarantined with findings and nothing of it is served`, async () => {
      repo.write(path, content as string);
      const bad = repo.commit(`hostile: ${what}`);
      const t0 = Date.now();
      await c.syncNow();
      assert.ok(Date.now() - t0 < 10_000, `compiling took ${Date.now() - t0} ms`);
      const view = JSON.parse((await fetchStatus(`${c.url}/v1/repository`, { headers: auth })).text);
      assert.equal(view.head.sha, bad);
      assert.equal(view.valid, false);
      const f = view.findings.find((x: any) => x.file === path);
      assert.ok(f, `a finding on ${path}: ${JSON.stringify(view.findings).slice(0, 500)}`);
      assert.equal(f.ruleId, rule);
      assert.match(f.message, message);
      assert.ok(f.start.line >= 1 && f.start.column >= 1);
      // The file never had a good version, so it is left out (quarantined) and the rest of the head is
      // served: the rendered documents are byte-identical to the last good revision's.
      const q = view.quarantined.find((x: any) => x.file === path);
      assert.ok(q, `${path} quarantined: ${JSON.stringify(view.quarantined).slice(0, 500)}`);
      assert.equal(q.kept, null);
      assert.ok(q.findings.some((x: any) => x.ruleId === rule));
      assert.ok([goodSha, bad].includes(view.lastGood.sha), `served ${view.lastGood.sha}`);
      const pulled = await fetchStatus(`${c.url}/v1/agents/desired?shard=networking&replica=a`, { headers: auth });
      assert.equal(pulled.status, 200);
      assert.equal(JSON.parse(pulled.text).hash, goodHash);
      await unharmed(what);
      repo.remove(path);
      goodSha = repo.commit(`revert ${what}`);
    });
  }
});

function aliasBomb(): string {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  return 'team: netops\nshard: networking\n' + levels.join('\n') + '\njobs: []\n';
}
