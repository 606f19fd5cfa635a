// The dashboard in a real browser (headless Chromium through playwright-core) against a real
// controller following a real git repository, with one shard of two real Prometheus replicas and
// their agents. Screenshots go to test-artifacts/screenshots/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_TOKEN, fleetAvailable, launchBrowser, paymentsFile, screenshot, startTestFleet, waitFor, XSS_JOB, XSS_LABEL, type TestFleet } from './helpers.ts';
import { CONTENT_SECURITY_POLICY } from '../../central-controller/dashboard/mount.ts';

describe('dashboard in a browser', { skip: !fleetAvailable() && 'needs /usr/bin/prometheus and /usr/bin/chromium' }, () => {
  let fleet: TestFleet;
  let browser: Browser;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  const openPage = async (path: string, viewport = { width: 1366, height: 860 }): Promise<Page> => {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    page.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`${path}: console: ${m.text()}`);
    });
    const res = await page.goto(fleet.url + path);
    assert.equal(res?.status(), 200, `${path} answered ${res?.status()}`);
    return page;
  };

  before(async () => {
    fleet = await startTestFleet({ replicas: 2, openRead: true });
    browser = await launchBrowser();
    context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fleet.url });
    // The first rollout: both replicas of "apps" run the initial commit.
    await waitFor('apps in sync', () => fleet.controller.state.agents.replicasOf('apps').length === 2 && fleet.controller.state.agents.replicasOf('apps').every((a) => a.applied?.hash === fleet.controller.state.shards.get('apps')?.desired?.hash && a.applied?.verified), 30_000);
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  test('the fleet page lists every shard with its replicas, desired revision and budget', async () => {
    const page = await openPage('/');
    const apps = page.locator('.card.shard[data-shard="apps"]');
    await apps.waitFor();
    await page.locator('.card.shard[data-shard="spare"]').waitFor();
    assert.equal(await page.locator('.card.shard').count(), 2);
    await page.waitForSelector('.card.shard[data-shard="apps"][data-state="in-sync"]');
    assert.equal(await apps.locator('tr[data-replica]').count(), 2);
    const head = fleet.controller.state.repository.lastGood!.sha;
    assert.equal(await apps.locator('.desired code.rev').getAttribute('data-revision'), head);
    for (const r of ['a', 'b']) assert.equal(await apps.locator(`tr[data-replica="${r}"] .applied code.rev`).getAttribute('data-revision'), head);
    assert.match((await apps.textContent()) ?? '', /3 \/ 20 targets/);
    assert.match((await page.locator('.card.shard[data-shard="spare"]').textContent()) ?? '', /No agent has registered/);
    // Live feed connected.
    await page.waitForSelector('#live-status.ok');
    await screenshot(page, 'fleet-laptop', false);
    // A narrow window: one column, nothing wider than the viewport.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a 390px window`);
    await screenshot(page, 'fleet-narrow', true);
    await page.close();
  });

  test('a commit shows up on the open fleet page without a reload', async () => {
    const page = await openPage('/');
    await page.waitForSelector('#live-status.ok');
    await page.evaluate(() => ((window as unknown as { __marker: string }).__marker = 'still-here'));
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    fleet.git.write('teams/payments/api.yaml', paymentsFile(fleet.exporters.web.target, fleet.exporters.checkout.target, ['127.0.0.1:9']));
    const sha = await fleet.commitAndNotify('payments: one more web target');
    const started = Date.now();
    const apps = page.locator('.card.shard[data-shard="apps"]');
    await apps.locator(`.desired code.rev[data-revision="${sha}"]`).waitFor({ timeout: 15_000 });
    await apps.locator(`tr[data-replica="a"] .applied code.rev[data-revision="${sha}"]`).waitFor({ timeout: 15_000 });
    await apps.locator(`tr[data-replica="b"] .applied code.rev[data-revision="${sha}"]`).waitFor({ timeout: 15_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(await page.evaluate(() => (window as unknown as { __marker?: string }).__marker), 'still-here', 'the page was reloaded');
    assert.equal(navigations, 0, 'the page navigated');
    assert.match((await apps.textContent()) ?? '', /4 \/ 20 targets/);
    // The timeline got the commit and the pushes, live.
    await page.locator('#timeline li', { hasText: `commit ${sha.slice(0, 12)}` }).first().waitFor();
    await page.locator('#timeline li', { hasText: /push of .* to apps\/b: applied/ }).first().waitFor();
    await screenshot(page, 'fleet-after-commit', false);
    assert.ok(seconds < 15, `took ${seconds} s`);
    await page.close();
  });

  test('a planted cardinality offender appears on its team page, live, with its fix and a copy button', async () => {
    const page = await openPage('/teams/payments');
    await page.waitForSelector('#live-status.ok');
    await page.evaluate(() => ((window as unknown as { __marker: string }).__marker = 'team-page'));
    assert.equal(await page.locator('.card.flag').count(), 0);
    // Analysis on demand through the agent's endpoint, once Prometheus has scraped the offender.
    const agent = fleet.replicas[0]!;
    await waitFor(
      'request_id flagged by the agent',
      async () => {
        const res = await fetch(`${agent.agent.url}/v1/cardinality/analyze`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const body = (await res.json()) as { flags: { job: string; label: string }[] };
        return body.flags.some((f) => f.job === 'checkout' && f.label === 'request_id');
      },
      30_000,
      1000,
    );
    const flag = page.locator('.card.flag', { hasText: 'request_id' });
    await flag.waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { __marker?: string }).__marker), 'team-page', 'the page was reloaded');
    const text = (await flag.textContent()) ?? '';
    assert.match(text, /checkout_requests_total/);
    assert.match(text, /teams\/payments\/api\.yaml:\d+/);
    assert.match(text, /uuid/);
    const snippet = (await flag.locator('.fix pre.snippet').textContent()) ?? '';
    assert.match(snippet, /metric_relabel_configs:/);
    assert.match(snippet, /action: labeldrop/);
    assert.match(snippet, /regex: request_id/);
    await flag.locator('.fix button.copy').click();
    await flag.locator('.fix button.copy', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);
    // The controller's API agrees with the page.
    const api = (await (await fetch(`${fleet.url}/v1/flags?team=payments`)).json()) as { flags: { label: string; key: string }[] };
    assert.ok(api.flags.some((f) => f.label === 'request_id'));
    // "Open fix PR" is the command that opens it (the dashboard never writes); Copy copies it exactly.
    const key = api.flags.find((f) => f.label === 'request_id')!.key;
    await flag.locator('.fix-pr button.copy').click();
    await flag.locator('.fix-pr button.copy', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `promshard fix ${key} --open-pr`);
    await screenshot(page, 'team-payments-flag', true);
    await page.close();
    // The fleet card counts the flag and, from the analyzer's measurement, the shard's series against its budget.
    const fleetPage = await openPage('/');
    const apps = fleetPage.locator('.card.shard[data-shard="apps"]');
    await apps.locator('.badge', { hasText: '1 cardinality flag' }).waitFor({ timeout: 10_000 });
    await apps.locator('dd', { hasText: /[1-9][\d,]* \/ 20,000 series/ }).waitFor({ timeout: 25_000 });
    await fleetPage.close();
  });

  test('label values containing markup are shown as text, and no script runs', async () => {
    const page = await openPage('/shards/apps');
    const response = await page.request.get(`${fleet.url}/shards/apps`);
    assert.equal(response.headers()['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(response.headers()['x-content-type-options'], 'nosniff');
    const row = page.locator('table.jobs tr', { hasText: 'xss-' });
    await row.waitFor();
    assert.equal(await row.locator('th code').textContent(), XSS_JOB);
    assert.equal(await row.locator('.label .v').textContent(), XSS_LABEL);
    // The rendered configuration carries them too, as text.
    assert.ok(((await page.locator('pre.config-text').first().textContent()) ?? '').includes('<script>window.__pwned=1</script>'));
    const teamPage = await openPage('/teams/xss-team');
    assert.equal(await teamPage.locator('table.jobs th code').first().textContent(), XSS_JOB);
    for (const p of [page, teamPage]) {
      await p.waitForTimeout(300); // let any injected handler fire, were there one
      assert.equal(await p.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned), undefined);
      assert.equal(await p.evaluate(() => document.querySelectorAll('script').length), 1, 'only the dashboard script');
      assert.equal(await p.evaluate(() => document.querySelectorAll('img').length), 0, 'no injected <img>');
    }
    await screenshot(page, 'shard-apps', true);
    await page.close();
    await teamPage.close();
  });

  test('an invalid file is quarantined: the repository page lists every finding with file:line:col', async () => {
    const page = await openPage('/repository');
    await page.waitForSelector('#live-status.ok');
    const good = fleet.controller.state.repository.lastGood!.sha;
    fleet.git.write('teams/payments/broken.yaml', 'team: payments\nshard: apps\njobs:\n  - name: broken\n    targets: ["127.0.0.1:1"]\n    interval: 1s\n    timeout: 5s\n  - name: payments-web\n    targets: ["127.0.0.1:2"]\n');
    const bad = await fleet.commitAndNotify('payments: a broken file');
    await page.locator('main p.banner.warn', { hasText: 'quarantined' }).waitFor({ timeout: 15_000 });
    const locations = await page.locator('table.findings code.location').allTextContents();
    assert.ok(locations.length >= 2, locations.join(', '));
    for (const l of locations) assert.match(l, /^teams\/[a-z-]+\/[a-z-]+\.yaml:\d+:\d+$/);
    assert.ok(locations.some((l) => l.startsWith('teams/payments/broken.yaml:7:')), locations.join(', '));
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, /Quarantined files/);
    assert.match(text, /left out \(it never had a good version\)/);
    assert.ok(text.includes(bad.slice(0, 10)));
    await screenshot(page, 'repository-invalid', true);
    // The fleet page says so too; the new file is left out, so the apps shard's desired document (and
    // its revision) does not change.
    const fleetPage = await openPage('/');
    await fleetPage.locator('.banner.warn', { hasText: 'quarantined' }).waitFor();
    assert.equal(await fleetPage.locator('section.quarantine tr[data-file="teams/payments/broken.yaml"]').count(), 1);
    assert.equal(await fleetPage.locator('.card.shard[data-shard="apps"] .desired code.rev').getAttribute('data-revision'), good);
    await fleetPage.close();
    await page.close();
  });

  test('every view fits a narrow window (no horizontal scrolling of the page)', async () => {
    for (const path of ['/', '/shards/apps', '/teams', '/teams/payments', '/teams/xss-team', '/repository']) {
      const page = await openPage(path, { width: 390, height: 844 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than a 390px window`);
      if (path === '/shards/apps') await screenshot(page, 'shard-apps-narrow', true);
      await page.close();
    }
  });

  test('no script errors on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
