// Read access to the dashboard when the controller is not started with open read access: bearer
// token, the ?token= exchange for an HttpOnly SameSite=Strict cookie, and the token never logged.
// Also the strict escaping helper. A real controller on a real git repository; no agents needed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { escapeHtml, html } from '../../central-controller/dashboard/html.ts';
import { issueSession, SESSION_COOKIE, sessionValid } from '../../central-controller/dashboard/auth.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { ADMIN_TOKEN, browserAvailable, launchBrowser, READ_TOKEN, SHARDS_YAML, SPARE_FILE, WEBHOOK_SECRET } from './helpers.ts';

describe('dashboard read access with tokens', () => {
  let git: TestGitRepo;
  let controller: RunningController;
  let dir: string;
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-dash-auth-'));
    git = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/storage-ops/spare.yaml': SPARE_FILE });
    controller = await startController({ repo: git.dir, stateDir: join(dir, 'state'), token: ADMIN_TOKEN, readToken: READ_TOKEN, webhookSecret: WEBHOOK_SECRET, pollMs: 0, defaultMetrics: false, logWrite: (l) => logs.push(l) });
  });

  after(async () => {
    await controller?.close();
    git?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('views answer 401 without a token, and 200 with the read or admin token as a bearer', async () => {
    for (const path of ['/', '/shards/spare', '/teams/storage-ops', '/repository', '/teams', '/dashboard/events']) {
      const res = await fetch(controller.url + path);
      assert.equal(res.status, 401, path);
      assert.match(await res.text(), /read token/i);
      const wrong = await fetch(controller.url + path, { headers: { authorization: 'Bearer not-the-token' } });
      assert.equal(wrong.status, 401, path);
      await wrong.arrayBuffer();
    }
    for (const token of [READ_TOKEN, ADMIN_TOKEN]) {
      const res = await fetch(controller.url + '/shards/spare', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /spare-node/);
    }
  });

  test('?token= is exchanged for an HttpOnly SameSite=Strict cookie holding no token, and leaves the address', async () => {
    const res = await fetch(`${controller.url}/shards/spare?token=${READ_TOKEN}&x=1`, { redirect: 'manual' });
    assert.equal(res.status, 200);
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, new RegExp(`^${SESSION_COOKIE}=`));
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Strict/);
    assert.match(cookie, /; Path=\//);
    assert.ok(!cookie.includes(READ_TOKEN), 'the cookie must not carry the token itself');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const body = await res.text();
    assert.match(body, /http-equiv="refresh" content="0;url=\/shards\/spare\?x=1"/);
    assert.ok(!body.includes(READ_TOKEN));
    const session = cookie.split(';')[0]!;
    for (const path of ['/', '/repository', '/shards/spare']) {
      const r = await fetch(controller.url + path, { headers: { cookie: session } });
      assert.equal(r.status, 200, path);
      await r.arrayBuffer();
    }
    // The live feed accepts the session too.
    const ac = new AbortController();
    const sse = await fetch(`${controller.url}/dashboard/events`, { headers: { cookie: session }, signal: ac.signal });
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /text\/event-stream/);
    ac.abort();
    // A forged or stale cookie is refused.
    const forged = await fetch(controller.url + '/', { headers: { cookie: `${SESSION_COOKIE}=AAAA` } });
    assert.equal(forged.status, 401);
    await forged.arrayBuffer();
    const bad = await fetch(`${controller.url}/?token=wrong-token-000`);
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
    await bad.arrayBuffer();
  });

  test('assets need no token and pages carry a strict Content-Security-Policy', async () => {
    for (const a of ['dashboard.js', 'dashboard.css', 'favicon.svg']) {
      const res = await fetch(`${controller.url}/dashboard/assets/${a}`);
      assert.equal(res.status, 200, a);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      await res.arrayBuffer();
    }
    const nope = await fetch(`${controller.url}/dashboard/assets/..%2Fmount.ts`);
    assert.equal(nope.status, 404);
    await nope.arrayBuffer();
    const page = await fetch(controller.url + '/', { headers: { authorization: `Bearer ${READ_TOKEN}` } });
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const text = await page.text();
    assert.doesNotMatch(text, /<script>(?!<\/script>)/, 'no inline script');
    assert.doesNotMatch(text, / style="/, 'no inline style');
  });

  test('the token never reaches a log line', () => {
    const all = logs.join('\n');
    assert.ok(!all.includes(READ_TOKEN));
    assert.ok(!all.includes(ADMIN_TOKEN));
  });

  test('in a browser, ?token= lands on the page with the token gone from the address', { skip: !browserAvailable() && 'needs /usr/bin/chromium' }, async () => {
    const browser = await launchBrowser();
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${controller.url}/repository?token=${READ_TOKEN}`);
      await page.waitForURL(`${controller.url}/repository`);
      await page.locator('h1', { hasText: 'Repository' }).waitFor();
      const cookies = await context.cookies();
      const c = cookies.find((x) => x.name === SESSION_COOKIE);
      assert.ok(c);
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, 'Strict');
      assert.equal(await page.evaluate(() => document.cookie), '', 'not readable from script');
      await page.waitForSelector('#live-status.ok');
    } finally {
      await browser.close();
    }
  });
});

describe('dashboard session expiry and rotation', () => {
  const HOUR = 3600_000;
  const T0 = Date.UTC(2030, 0, 1);

  test('a session is valid until its expiry and refused from then on, whatever the browser still sends', () => {
    const v = issueSession(READ_TOKEN, T0, 12 * HOUR);
    assert.ok(!v.includes(READ_TOKEN));
    assert.equal(sessionValid(v, [READ_TOKEN], T0, 12 * HOUR), true);
    assert.equal(sessionValid(v, [READ_TOKEN], T0 + 12 * HOUR - 1000, 12 * HOUR), true);
    assert.equal(sessionValid(v, [READ_TOKEN], T0 + 12 * HOUR, 12 * HOUR), false);
    assert.equal(sessionValid(v, [READ_TOKEN], T0 + 400 * HOUR, 12 * HOUR), false);
    // Shortening the controller's flag shortens sessions already handed out.
    assert.equal(sessionValid(v, [READ_TOKEN], T0 + 2 * HOUR, 1 * HOUR), false);
  });

  test('an edited issue or expiry time is refused (the HMAC covers both)', () => {
    const v = issueSession(READ_TOKEN, T0, 12 * HOUR);
    const [ver, issued, expires, mac] = v.split('.');
    const later = `${ver}.${issued}.${Number(expires) + 365 * 86400}.${mac}`;
    assert.equal(sessionValid(later, [READ_TOKEN], T0 + 13 * HOUR, 400 * 24 * HOUR), false);
    const reissued = `${ver}.${Number(issued) + 13 * 3600}.${Number(expires) + 13 * 3600}.${mac}`;
    assert.equal(sessionValid(reissued, [READ_TOKEN], T0 + 14 * HOUR, 12 * HOUR), false);
    // A session "issued" in the future is not one the server made, even with a valid HMAC.
    const future = issueSession(READ_TOKEN, T0 + 5 * HOUR, 12 * HOUR);
    assert.equal(sessionValid(future, [READ_TOKEN], T0, 12 * HOUR), false);
    // The pre-expiry format (a bare HMAC of the token) is no longer accepted.
    assert.equal(sessionValid('AAAA', [READ_TOKEN], T0, 12 * HOUR), false);
  });

  test('a session made under one token is refused under another (rotation)', () => {
    const v = issueSession(READ_TOKEN, T0, 12 * HOUR);
    assert.equal(sessionValid(v, ['rotated-read-token-1234'], T0 + 1000, 12 * HOUR), false);
    assert.equal(sessionValid(v, ['rotated-read-token-1234', READ_TOKEN], T0 + 1000, 12 * HOUR), true);
  });

  test('over HTTP: the cookie works, then the server refuses it once expired; a tampered expiry is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-dash-session-'));
    const git = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/storage-ops/spare.yaml': SPARE_FILE });
    const controller = await startController({ repo: git.dir, stateDir: join(dir, 'state'), token: ADMIN_TOKEN, readToken: READ_TOKEN, webhookSecret: WEBHOOK_SECRET, pollMs: 0, defaultMetrics: false, dashboardSessionMs: 2000, logWrite: () => undefined });
    try {
      const res = await fetch(`${controller.url}/?token=${READ_TOKEN}`);
      await res.arrayBuffer();
      const cookie = res.headers.get('set-cookie') ?? '';
      assert.match(cookie, /; Max-Age=2(;|$)/);
      const session = cookie.split(';')[0]!;
      const ok = await fetch(controller.url + '/', { headers: { cookie: session } });
      assert.equal(ok.status, 200);
      await ok.arrayBuffer();
      const [ver, issued, expires, mac] = session.slice(SESSION_COOKIE.length + 1).split('.');
      const tampered = await fetch(controller.url + '/', { headers: { cookie: `${SESSION_COOKIE}=${ver}.${issued}.${Number(expires) + 86400}.${mac}` } });
      assert.equal(tampered.status, 401);
      await tampered.arrayBuffer();
      await new Promise((r) => setTimeout(r, 3100));
      const expired = await fetch(controller.url + '/', { headers: { cookie: session } });
      assert.equal(expired.status, 401);
      assert.match(await expired.text(), /expired/);
    } finally {
      await controller.close();
      git.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('over HTTP: a controller restarted with a rotated read token refuses the old session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-dash-rotate-'));
    const git = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/storage-ops/spare.yaml': SPARE_FILE });
    const start = (readToken: string) => startController({ repo: git.dir, stateDir: join(dir, 'state'), token: ADMIN_TOKEN, readToken, webhookSecret: WEBHOOK_SECRET, pollMs: 0, defaultMetrics: false, logWrite: () => undefined });
    let controller = await start(READ_TOKEN);
    try {
      const res = await fetch(`${controller.url}/?token=${READ_TOKEN}`);
      await res.arrayBuffer();
      const session = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      const before = await fetch(controller.url + '/', { headers: { cookie: session } });
      assert.equal(before.status, 200);
      await before.arrayBuffer();
      await controller.close();
      controller = await start('rotated-read-token-5e1d');
      const after = await fetch(controller.url + '/', { headers: { cookie: session } });
      assert.equal(after.status, 401);
      await after.arrayBuffer();
    } finally {
      await controller.close();
      git.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('escaping', () => {
  test('escapeHtml and the html tag escape every markup character of untrusted values', () => {
    assert.equal(escapeHtml(`<script>"'&\`</script>`), '&lt;script&gt;&quot;&#39;&amp;&#96;&lt;/script&gt;');
    const v = '<img src=x onerror=alert(1)>';
    assert.equal(html`<td title="${v}">${v}</td>`.value, '<td title="&lt;img src=x onerror=alert(1)&gt;"><bdi>&lt;img src=x onerror=alert(1)&gt;</bdi></td>');
    assert.equal(html`<p>${[html`<b>${'<i>'}</b>`, '<u>']}</p>`.value, '<p><b><bdi>&lt;i&gt;</bdi></b><bdi>&lt;u&gt;</bdi></p>');
    assert.equal(html`${null}${undefined}${false}${0}`.value, '0');
  });
});
