// Hostile HTTP against the agent (its own process, real Prometheus): bodies, headers, methods and paths
// that a confused or malicious client could send. Every answer is a 4xx (never 5xx, never a hang), the
// process stays up, and nothing Prometheus reads changes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDesiredDocument, hashFiles, sha256Hex } from '../../core/document/desired-document.ts';
import { configWithJobs, makeDoc, TOKEN } from '../agent/helpers.ts';
import { killAllChildren, stablePort, startAgentProcess, writeSecret, type NodeProcess } from '../support/fleet.ts';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { fetchStatus, rawHttp } from './helpers.ts';

describe('agent HTTP endpoints under hostile input', { skip: !prometheusInstalled() && 'prometheus not installed' }, () => {
  let dir: string;
  let prometheus: RunningPrometheus;
  let agent: NodeProcess;
  let url: string;
  let port: number;
  let configBefore: string;
  let appliedBefore: unknown;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-hostile-agent-'));
    writeFileSync(join(dir, 'prometheus.yml'), configWithJobs({}));
    writeSecret(dir, 'token', TOKEN);
    prometheus = await startPrometheus({ configFile: join(dir, 'prometheus.yml'), dir });
    port = await stablePort();
    ({ proc: agent, url } = await startAgentProcess({
      shard: 'networking',
      replica: 'a',
      port,
      prometheusUrl: prometheus.url,
      configFile: join(dir, 'prometheus.yml'),
      stateDir: join(dir, 'state'),
      tokenFile: join(dir, 'token'),
      flags: ['--max-body', '64kb', '--promtool-syntax-only'],
    }));
    const first = await fetchStatus(`${url}/v1/apply`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(makeDoc('base', 5, configWithJobs({ base: ['127.0.0.1:9'] }))) });
    assert.equal(first.status, 200, first.text);
    configBefore = readFileSync(join(dir, 'prometheus.yml'), 'utf8');
    appliedBefore = JSON.parse((await fetchStatus(`${url}/v1/status`, { headers: auth })).text).applied;
  });
  after(async () => {
    await killAllChildren();
    await prometheus?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** After each case: alive, healthy, nothing changed. */
  const unharmed = async (what: string) => {
    assert.ok(agent.alive(), `${what}: the agent process is alive`);
    assert.equal((await fetchStatus(`${url}/healthz`)).status, 200, `${what}: /healthz`);
    assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), configBefore, `${what}: the config file is unchanged`);
    assert.deepEqual(JSON.parse((await fetchStatus(`${url}/v1/status`, { headers: auth })).text).applied, appliedBefore, `${what}: the applied state is unchanged`);
    const stray = readdirSync(dir).filter((n) => !['prometheus.yml', 'token', 'state', 'data'].includes(n));
    assert.deepEqual(stray, [], `${what}: no file appeared beside the config`);
  };
  const post = (body: string | Uint8Array, headers: Record<string, string> = {}) => fetchStatus(`${url}/v1/apply`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', ...headers }, body: body as BodyInit });

  it('bodies: not JSON, wrong JSON types, wrong content-type, empty, deeply nested, huge → 400/413', async () => {
    const cases: [string, () => Promise<{ status: number; text: string }>, number[]][] = [
      ['not JSON', () => post('{"apiVersion": "promshard.io/v1", '), [400]],
      ['binary', () => post(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b])), [400]],
      ['JSON array', () => post('[]'), [400]],
      ['JSON string', () => post('"prometheus.yml"'), [400]],
      ['JSON number', () => post('12'), [400]],
      ['JSON null', () => post('null'), [400]],
      ['empty body', () => post(''), [400]],
      ['object of wrong types', () => post(JSON.stringify({ apiVersion: 1, shard: ['networking'], revision: {}, generation: '1', files: 'prometheus.yml', hash: null })), [400]],
      ['files of wrong types', () => post(JSON.stringify({ ...makeDoc('x', 9, 'a: 1\n'), files: [{ path: 1, content: 2, sha256: 3 }] })), [400]],
      ['__proto__ keys', () => post('{"__proto__": {"apiVersion": "promshard.io/v1"}, "constructor": {"prototype": {"polluted": true}}}'), [400]],
      ['wrong content-type', () => post(JSON.stringify(makeDoc('ct', 9, configWithJobs({ ct: ['127.0.0.1:1'] }))), { 'content-type': 'text/plain' }), [400, 415]],
      ['form content-type', () => post('apiVersion=promshard.io%2Fv1', { 'content-type': 'application/x-www-form-urlencoded' }), [400, 415]],
      ['deeply nested arrays', () => post('['.repeat(30_000) + ']'.repeat(30_000)), [400, 413]],
      ['deeply nested objects', () => post('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)), [400, 413]],
      ['over the body limit', () => post(JSON.stringify({ ...makeDoc('huge', 9, 'x'), pad: 'x'.repeat(100_000) })), [413]],
    ];
    for (const [what, run, want] of cases) {
      const r = await run();
      assert.ok(want.includes(r.status), `${what}: got ${r.status} ${r.text.slice(0, 200)}, want ${want}`);
      assert.doesNotThrow(() => JSON.parse(r.text), `${what}: the answer is JSON`);
    }
    await unharmed('bodies');
  });

  it('documents with unsafe file names are refused (400) and nothing is written anywhere', async () => {
    const names = ['../evil.yml', '/etc/promshard-evil.yml', 'sub/../../evil.yml', '..', '.', '', 'a\\..\\evil.yml', 'nul\u0000.yml', 'C:/evil.yml', '%2e%2e/evil.yml', 'a//b.yml', 'state/../../evil.yml', ' ../evil.yml'];
    for (const name of names) {
      const files = [
        { path: 'prometheus.yml', content: configWithJobs({ evil: ['127.0.0.1:1'] }) },
        { path: name, content: 'owned: true\n' },
      ].map((f) => ({ ...f, sha256: sha256Hex(f.content) }));
      const doc = { ...buildDesiredDocument({ shard: 'networking', revision: 'evil', generation: 50, committedAt: new Date().toISOString(), files: [] }), files, hash: hashFiles(files) };
      const r = await post(JSON.stringify(doc));
      if (name === '%2e%2e/evil.yml' || name === 'a//b.yml') {
        // Not a traversal: a literal directory name "%2e%2e" / an empty segment. Either refused, or kept inside the config dir.
        assert.ok([200, 400, 422].includes(r.status), `${JSON.stringify(name)}: ${r.status} ${r.text}`);
        continue;
      }
      assert.equal(r.status, 400, `${JSON.stringify(name)}: ${r.status} ${r.text}`);
      assert.equal(JSON.parse(r.text).result, 'rejected');
    }
    assert.ok(!existsSync('/etc/promshard-evil.yml'));
    assert.ok(!existsSync(join(dir, '..', 'evil.yml')));
    // The two "maybe" names above may have applied: restore the baseline through the API to keep the next checks exact.
    const restore = await post(JSON.stringify(makeDoc('base-again', 60, configWithJobs({ base: ['127.0.0.1:9'] }))));
    assert.equal(restore.status, 200, restore.text);
    configBefore = readFileSync(join(dir, 'prometheus.yml'), 'utf8');
    appliedBefore = JSON.parse((await fetchStatus(`${url}/v1/status`, { headers: auth })).text).applied;
    await unharmed('unsafe names');
  });

  it('headers: missing, garbage or oversized Authorization → 401/431; absurd or garbage Content-Length → 4xx', async () => {
    const doc = JSON.stringify(makeDoc('hdr', 70, configWithJobs({ hdr: ['127.0.0.1:3'] })));
    for (const a of [undefined, '', 'Bearer', 'Bearer ', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, `bearer  ${TOKEN}x`, `Bearer ${TOKEN} ${TOKEN}`, `Token ${TOKEN}`, 'Bearer \u00ff\u00fe', `Bearer ${'A'.repeat(6000)}`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (a !== undefined) headers.authorization = a;
      let status: number;
      try {
        status = (await fetchStatus(`${url}/v1/apply`, { method: 'POST', headers, body: doc })).status;
      } catch {
        // fetch refuses some header bytes itself: send them raw.
        status = (await rawHttp(port, `POST /v1/apply HTTP/1.1\r\nHost: x\r\nAuthorization: ${a}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(doc)}\r\nConnection: close\r\n\r\n${doc}`)).status;
      }
      assert.equal(status, 401, `Authorization ${JSON.stringify(a?.slice(0, 40))}: ${status}`);
    }
    const huge = await rawHttp(port, `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'B'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    assert.ok([401, 431].includes(huge.status), `20 kB Authorization: ${huge.status}`);

    const send = (head: string, body = '') => rawHttp(port, `POST /v1/apply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n${head}Connection: close\r\n\r\n${body}`, 3000);
    const absurd = await send('Content-Length: 99999999999999\r\n', '{}');
    assert.equal(absurd.status, 413, `absurd Content-Length: ${absurd.status} ${absurd.head}`);
    const unauthAbsurd = await rawHttp(port, `POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999999999\r\nConnection: close\r\n\r\n{}`, 3000);
    assert.equal(unauthAbsurd.status, 401, 'authentication comes before the body');
    for (const [what, head] of [
      ['garbage Content-Length', 'Content-Length: abc\r\n'],
      ['negative Content-Length', 'Content-Length: -5\r\n'],
      ['two Content-Lengths', 'Content-Length: 2\r\nContent-Length: 5\r\n'],
      ['Content-Length with Transfer-Encoding', 'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n'],
      ['unknown Transfer-Encoding', 'Transfer-Encoding: gzip, bogus\r\n'],
    ] as const) {
      const r = await send(head, '{}');
      assert.ok(r.status >= 400 && r.status < 500, `${what}: ${r.status}`);
    }
    const short = await send('Content-Length: 500\r\n', '{"a":1}');
    assert.ok(short.status === 0 || (short.status >= 400 && short.status < 500), `body shorter than Content-Length: ${short.status}`);
    await unharmed('headers');
  });

  it('methods and paths: wrong verbs, unknown routes, traversal and encoded ".." → 404/405, never a file', async () => {
    for (const [method, path] of [
      ['GET', '/v1/apply'],
      ['PUT', '/v1/apply'],
      ['DELETE', '/v1/apply'],
      ['PATCH', '/v1/status'],
      ['POST', '/v1/status'],
      ['DELETE', '/v1/flags'],
      ['GET', '/v1/cardinality/analyze'],
      ['POST', '/metrics'],
      ['PUT', '/healthz'],
      ['GET', '/v2/apply'],
      ['GET', '/'],
      ['GET', '/v1'],
    ]) {
      const r = await fetchStatus(url + path, { method, headers: auth, ...(method !== 'GET' && method !== 'DELETE' ? { body: '{}' } : {}) });
      assert.ok([404, 405].includes(r.status), `${method} ${path}: ${r.status}`);
    }
    const raw = async (path: string) => (await rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`)).status;
    for (const path of ['/v1/../v1/../../etc/passwd', '/v1/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '/v1/status/..%2f..%2fprometheus.yml', '/%2e%2e/prometheus.yml', '/v1/status%00', '//etc/passwd', '/v1/status/../../state/state.json', '*']) {
      const status = await raw(path);
      assert.ok([400, 404].includes(status), `GET ${path}: ${status}`);
    }
    const home = await raw('/v1/status/');
    assert.ok([200, 404].includes(home), 'trailing slash');
    for (const bad of ['GET / HTTP/9.9\r\n\r\n', 'BREW /v1/status HTTP/1.1\r\nHost: x\r\n\r\n', '\u0000\u0001\u0002\r\n\r\n', 'GET /v1/status HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n']) {
      const r = await rawHttp(port, bad, 3000);
      assert.ok(r.status === 0 || (r.status >= 400 && r.status < 500), `${JSON.stringify(bad.slice(0, 20))}: ${r.status}`);
    }
    await unharmed('methods and paths');
  });

  it('many slow, half-open connections do not stop the agent from answering', async () => {
    const { connect } = await import('node:net');
    const sockets = Array.from({ length: 50 }, () => {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write('POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n');
      return s;
    });
    try {
      const r = await fetchStatus(`${url}/v1/status`, { headers: auth });
      assert.equal(r.status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
    await unharmed('half-open connections');
  });
});
