// The revision page in real headless Chromium (issue 13, item 3): after a commit adds a job whose
// target is up (a real exporter) and one whose target refuses connections, /revisions/:sha shows
// where the commit landed (each replica proven) and each new target's health, with Prometheus's own
// error for the down one; the commit message (with a bidi override and markup) is escaped and
// isolated; the fleet and team pages link to it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort } from '../support/prometheus.ts';
import { fleetAvailable, launchBrowser, screenshot, startTestFleet, waitFor, type TestFleet } from '../dashboard/helpers.ts';

describe('revision page (real controller, 2 agents, real Prometheus, headless Chromium)', { skip: !fleetAvailable() && 'needs prometheus and chromium' }, () => {
  let fleet: TestFleet;
  let browser: Browser;
  let context: BrowserContext;
  let sha: string;
  let downAddress: string;
  const pageErrors: string[] = [];
  const MESSAGE = 'orders: add jobs <b>bold</b> \u202Egnp.exe';

  before(async () => {
    fleet = await startTestFleet({ replicas: 2, openRead: true });
    browser = await launchBrowser();
    context = await browser.newContext();
    await waitFor('apps in sync', () => fleet.controller.state.agents.replicasOf('apps').length === 2 && fleet.controller.state.agents.replicasOf('apps').every((a) => a.applied?.hash === fleet.controller.state.shards.get('apps')?.desired?.hash && a.applied?.verified), 30_000);
    downAddress = `127.0.0.1:${await freePort()}`;
    fleet.git.write('teams/orders/orders.yaml', `team: orders\nshard: apps\njobs:\n  - name: orders-web\n    targets: ["${fleet.exporters.web.target}"]\n  - name: orders-broken\n    targets: ["${downAddress}"]\n`);
    sha = await fleet.commitAndNotify(MESSAGE);
    await waitFor(
      'both new targets settled in the record',
      () => {
        const t = fleet.controller.state.revisions.get(sha)?.shards.apps?.targets ?? [];
        return t.length === 2 && t.find((x) => x.job === 'orders-web')?.health === 'up' && t.find((x) => x.job === 'orders-broken')?.health === 'down';
      },
      30_000,
    );
  });

  after(async () => {
    await browser?.close();
    await fleet?.close();
  });

  const open = async (path: string): Promise<Page> => {
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
    const res = await page.goto(fleet.url + path);
    assert.equal(res?.status(), 200, `${path} answered ${res?.status()}`);
    return page;
  };

  it('shows where the revision landed and each new target\'s health, with the down target\'s error', async () => {
    const page = await open(`/revisions/${sha}`);
    const section = page.locator('section.revision-shard[data-shard="apps"]');
    assert.equal(await section.getAttribute('data-outcome'), 'applied');
    for (const replica of ['a', 'b']) assert.match(await section.locator(`table.revision-replicas tr[data-replica="${replica}"]`).innerText(), /applied[\s\S]*proven/);
    const up = section.locator('table.revision-targets tr[data-job="orders-web"]');
    assert.equal(await up.getAttribute('data-health'), 'up');
    assert.match(await up.innerText(), /after the commit arrived/);
    const down = section.locator('table.revision-targets tr[data-job="orders-broken"]');
    assert.equal(await down.getAttribute('data-health'), 'down');
    assert.match(await down.locator('.target-error').innerText(), /connection refused/);
    assert.match(await page.locator('.target-summary').innerText(), /1\/2 new targets up, 1 down/);
    // The commit message is text, isolated: no <b> element, the override stays inside its <bdi>.
    assert.equal(await page.locator('.msg b').count(), 0);
    const msg = await page.locator('p.msg bdi').innerText();
    assert.ok(msg.includes('<b>bold</b>'), msg);
    assert.ok(msg.includes('\\u202e'), 'the bidi override is shown as a visible escape');
    await screenshot(page, 'revision-page');
    await page.close();
  });

  it('is linked from the fleet page and the team page (recent revisions touching the team)', async () => {
    const fleetPage = await open('/');
    await fleetPage.locator(`table.revisions tr[data-revision="${sha}"] a`).click();
    await fleetPage.waitForURL(`**/revisions/${sha}`);
    await fleetPage.close();
    const team = await open('/teams/orders');
    const row = team.locator(`table.revisions tr[data-revision="${sha}"]`);
    assert.match(await row.innerText(), /1\/2 new targets up, 1 down/);
    await team.close();
    const payments = await open('/teams/payments');
    assert.equal(await payments.locator(`table.revisions tr[data-revision="${sha}"]`).count(), 0, 'the revision did not touch payments');
    await payments.close();
  });

  it('answers 404 for a revision it has no record of', async () => {
    const res = await fetch(`${fleet.url}/revisions/0123456789abcdef0123456789abcdef01234567`);
    assert.equal(res.status, 404);
    assert.deepEqual(pageErrors, []);
  });
});
