// Issue 10, items 1 and 5: text from git and the repository (commit messages, author names, file names
// in findings) can neither reorder the page nor hide in it. In real headless Chromium against a real
// controller on a real git repository: every such string sits in a <bdi> (computed unicode-bidi:
// isolate), and its bidi and control characters show as visible \u202e escapes, so no raw U+202E
// reaches the document. Also the html tag's contexts (content, attribute, <title>) as a unit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { html, join as joinHtml } from '../../central-controller/dashboard/html.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { ADMIN_TOKEN, browserAvailable, launchBrowser, READ_TOKEN, SHARDS_YAML, SPARE_FILE, WEBHOOK_SECRET, screenshot, waitFor } from './helpers.ts';

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const MESSAGE = 'release \u202Egnp.exe\u2066 fix';
const AUTHOR = 'Mallory \u202Eyrollam';
const HOSTILE_FILE = 'teams/storage-ops/x\u202Elmay.yaml';

test('html tag: content is escaped, made visible and isolated; attributes and <title> are escaped and made visible, never wrapped', () => {
  assert.equal(html`<span>${'a\u202Eb<c>'}</span>`.value, '<span><bdi>a\\u202eb&lt;c&gt;</bdi></span>');
  assert.equal(html`<a title="${'a\u202Eb'}" data-x="${'"q"'}">${'t'}</a>`.value, '<a title="a\\u202eb" data-x="&quot;q&quot;"><bdi>t</bdi></a>');
  assert.equal(html`<tr data-a="${'x'}" data-b="${'y\u2066'}">`.value, '<tr data-a="x" data-b="y\\u2066">');
  assert.equal(html`<title>${'shard \u202Eevil'} · promshard</title><p>${'x'}</p>`.value, '<title>shard \\u202eevil · promshard</title><p><bdi>x</bdi></p>');
  assert.equal(html`<pre>${'line 1\nline\t2\r'}</pre>`.value, '<pre><bdi>line 1\nline\t2\\u000d</bdi></pre>', 'LF and TAB stay in content');
  assert.equal(html`<p>${3}${''}</p>`.value, '<p>3</p>', 'numbers and empty strings need no isolation');
  assert.equal(joinHtml(['a\u202E', 'b'], ', ').value, '<bdi>a\\u202e</bdi>, <bdi>b</bdi>');
});

describe('bidi isolation in a browser', { skip: !browserAvailable() && 'needs /usr/bin/chromium' }, () => {
  let git: TestGitRepo;
  let controller: RunningController;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-dash-bidi-'));
    git = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/storage-ops/spare.yaml': SPARE_FILE });
    git.write(HOSTILE_FILE, SPARE_FILE.replace('spare-node', 'other-node').replace(/spare(\d)\.internal/g, 'other$1.internal'));
    git.git('add', '-A');
    git.git('-c', `user.name=${AUTHOR}`, 'commit', '-q', '-m', MESSAGE);
    controller = await startController({ repo: git.dir, stateDir: join(dir, 'state'), token: ADMIN_TOKEN, readToken: READ_TOKEN, webhookSecret: WEBHOOK_SECRET, pollMs: 0, defaultMetrics: false, logWrite: () => undefined });
    await waitFor('head compiled', () => controller.state.repository.head !== null && controller.state.repository.head !== undefined);
  });

  after(async () => {
    await controller?.close();
    git?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('commit message, author and a U+202E file name are isolated in <bdi> and shown with visible escapes', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${controller.url}/repository?token=${READ_TOKEN}`);
      await page.locator('h1', { hasText: 'Repository' }).waitFor();
      await page.waitForSelector('#live-status.ok');
      const content = await page.content();
      assert.doesNotMatch(content, RAW, 'a raw control or bidi character reached the document');
      assert.doesNotMatch(await page.evaluate(() => document.body.innerText), RAW);

      // One snapshot of the DOM: the live script may re-render <main> at any time after load.
      const bdis = await page.evaluate(() =>
        [...document.querySelectorAll('bdi')].map((el) => ({ text: el.textContent ?? '', bidi: getComputedStyle(el).unicodeBidi, inMsg: !!el.closest('.msg'), inLocation: !!el.closest('code.location') })),
      );
      const find = (pred: (b: (typeof bdis)[0]) => boolean, what: string) => {
        const b = bdis.find(pred);
        assert.ok(b, `${what} not found among ${JSON.stringify(bdis.map((x) => x.text))}`);
        assert.equal(b.bidi, 'isolate', what);
        return b.text;
      };
      assert.equal(find((b) => b.inMsg && b.text.includes('release'), 'commit message'), 'release \\u202egnp.exe\\u2066 fix');
      assert.equal(find((b) => b.text.includes('Mallory'), 'author'), 'Mallory \\u202eyrollam');
      assert.equal(find((b) => b.inLocation && b.text.includes('lmay'), 'finding location'), 'teams/storage-ops/x\\u202elmay.yaml:1:1');
      assert.match(find((b) => b.text.includes('file name "x'), 'finding message'), /file name "x\\u202elmay\.yaml" holds U\+202E RIGHT-TO-LEFT OVERRIDE/);
      assert.ok(bdis.every((b) => b.bidi === 'isolate'), 'every <bdi> is isolated');
      // The timeline's live-inserted messages (.msg, set with textContent) are isolated by the stylesheet.
      assert.equal(await page.evaluate(() => [...document.querySelectorAll('.msg')].every((el) => getComputedStyle(el).unicodeBidi === 'isolate')), true);
      await screenshot(page, 'repository-bidi', true);

      await page.goto(`${controller.url}/`);
      assert.doesNotMatch(await page.content(), RAW);
    } finally {
      await browser.close();
    }
  });
});
