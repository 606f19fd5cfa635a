// The dashboard links to the global view given by --global-view-url (the demo passes its receiver),
// on every page's header; only http(s) URLs are taken, since the link is rendered in the dashboard's origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController } from '../../central-controller/start-controller.ts';
import { createGitRepo } from '../support/git-repo.ts';
import { ADMIN_TOKEN, SHARDS_YAML, SPARE_FILE, WEBHOOK_SECRET } from '../dashboard/helpers.ts';

test('the dashboard header links to the global view when one is configured, and refuses a non-http URL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-global-link-'));
  const git = createGitRepo({ 'shards.yaml': SHARDS_YAML, 'teams/storage-ops/spare.yaml': SPARE_FILE });
  const quiet = () => undefined;
  try {
    const base = { repo: git.dir, token: ADMIN_TOKEN, webhookSecret: WEBHOOK_SECRET, pollMs: 0, reconcileMs: 60_000, openReadAccess: true, logWrite: quiet };
    const withLink = await startController({ ...base, stateDir: join(dir, 'a'), globalViewUrl: 'http://127.0.0.1:9090/graph?g0.expr=up&x="<b>' });
    try {
      for (const path of ['/', '/teams', '/repository']) {
        const text = await (await fetch(`${withLink.url}${path}`)).text();
        assert.match(text, /<a href="http:\/\/127\.0\.0\.1:9090\/graph\?g0\.expr=up&amp;x=&quot;&lt;b&gt;" id="global-view-link"[^>]*>Global view/, path);
      }
    } finally {
      await withLink.close();
    }
    const without = await startController({ ...base, stateDir: join(dir, 'b') });
    try {
      assert.doesNotMatch(await (await fetch(`${without.url}/`)).text(), /global-view-link/);
    } finally {
      await without.close();
    }
    await assert.rejects(startController({ ...base, stateDir: join(dir, 'c'), globalViewUrl: 'javascript:alert(1)' }), /--global-view-url must be an http:\/\/ or https:\/\/ URL/);
  } finally {
    git.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
