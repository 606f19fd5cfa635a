// POST /v1/webhook from each git host, against a real controller following a real git repository:
// GitHub (X-Hub-Signature-256), GitLab (X-Gitlab-Token, the secret itself) and Gitea/Forgejo
// (X-Gitea-Signature / X-Forgejo-Signature, hex HMAC-SHA256 without prefix; Gitea also sends
// X-Hub-Signature-256). Each: valid → the new commit is fetched; wrong or missing → 401 and nothing is
// fetched; the body limit still answers 413 before any credential is looked at.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { signWebhookBody } from '../../core/http/auth.ts';
import { GitRepo, SECRET, SHARDS_YAML, TOKEN, teamFile, tempDir, waitFor } from '../controller/helpers.ts';

const hex = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

type Sender = { name: string; headers: (body: string, secret: string) => Record<string, string> };
const SENDERS: Sender[] = [
  { name: 'GitHub', headers: (b, s) => ({ 'x-github-event': 'push', 'x-hub-signature-256': signWebhookBody(b, s) }) },
  { name: 'GitLab', headers: (_b, s) => ({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': s }) },
  { name: 'Gitea', headers: (b, s) => ({ 'x-gitea-event': 'push', 'x-github-event': 'push', 'x-gitea-signature': hex(b, s), 'x-hub-signature-256': signWebhookBody(b, s) }) },
  { name: 'Forgejo', headers: (b, s) => ({ 'x-forgejo-event': 'push', 'x-forgejo-signature': hex(b, s), 'x-gitea-signature': hex(b, s) }) },
];

describe('webhooks from GitHub, GitLab, Gitea and Forgejo (real controller, real git)', () => {
  let repo: GitRepo;
  let c: RunningController;
  let stateDir: string;

  before(async () => {
    repo = new GitRepo();
    repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/a.yaml': teamFile('netops', 'networking', { dhcp: ['a.internal:9100'] }) });
    stateDir = tempDir('promshard-webhooks-');
    c = await startController({ repo: repo.dir, stateDir, token: TOKEN, webhookSecret: SECRET, pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, webhookMaxBytes: 4096, logWrite: () => undefined });
  });
  after(async () => {
    await c?.close();
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(`${c.url}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };

  let n = 0;
  for (const sender of SENDERS) {
    it(`${sender.name}: a valid credential fetches the new commit; a wrong or missing one is 401 and fetches nothing`, async () => {
      const sha = repo.commit({ 'teams/netops/a.yaml': teamFile('netops', 'networking', { dhcp: [`a${++n}.internal:9100`] }) });
      const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });

      const wrong = await post(body, sender.headers(body, 'not-the-secret-at-all'));
      assert.equal(wrong.status, 401);
      assert.match(wrong.body.error!, /^wrong /);
      const missing = await post(body, Object.fromEntries(Object.entries(sender.headers(body, SECRET)).filter(([k]) => !/signature|token/.test(k))));
      assert.equal(missing.status, 401);
      assert.match(missing.body.error!, /missing signature/);
      await new Promise((r) => setTimeout(r, 300));
      assert.notEqual(c.state.repository.head?.sha, sha, 'nothing was fetched for a refused webhook');

      const ok = await post(body, sender.headers(body, SECRET));
      assert.equal(ok.status, 202);
      await waitFor(`${sender.name} push fetched`, () => c.state.repository.head?.sha === sha, 10_000);
    });
  }

  it('a request carrying one right and one wrong credential is refused (Gitea sends two)', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const r = await post(body, { 'x-gitea-signature': hex(body), 'x-hub-signature-256': signWebhookBody(body, 'other-secret-123') });
    assert.equal(r.status, 401);
    assert.match(r.body.error!, /wrong X-Hub-Signature-256/);
    const forged = await post(body, { 'x-gitea-signature': hex(body + ' '), 'x-gitlab-token': SECRET });
    assert.equal(forged.status, 401);
  });

  it('a GitLab push to another branch is acknowledged and ignored', async () => {
    const body = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/feature' });
    const r = await post(body, { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET });
    assert.equal(r.status, 202);
    assert.match(JSON.stringify(r.body), /ignored/);
  });

  for (const sender of SENDERS) {
    it(`${sender.name}: the body limit applies before the credential (413)`, async () => {
      const big = JSON.stringify({ ref: 'refs/heads/main', pad: 'x'.repeat(8000) });
      assert.equal((await post(big, sender.headers(big, SECRET))).status, 413);
    });
  }
});
