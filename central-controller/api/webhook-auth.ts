// Which git host signed a webhook, and whether it did so with our secret. One shared secret serves
// every host; each presents it its own way:
//   GitHub          X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>
//   GitLab          X-Gitlab-Token: <the secret itself> (no HMAC, so TLS matters)
//   Gitea/Forgejo   X-Gitea-Signature (Forgejo also X-Forgejo-Signature): <hex HMAC-SHA256>, no prefix
// Gitea also sends X-Hub-Signature-256 (same HMAC): a request may carry several credentials, and then
// every one it carries must be right; one wrong credential refuses the request.
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { secretsEqual, webhookSignatureValid } from '../../core/http/auth.ts';

export type WebhookSender = 'github' | 'gitlab' | 'gitea';

export type WebhookAuth = { ok: true; sender: WebhookSender } | { ok: false; reason: string };

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return typeof v === 'string' ? v : undefined;
};

function hexHmacValid(body: Buffer, given: string, secret: string): boolean {
  return secretsEqual(given.trim().toLowerCase(), createHmac('sha256', secret).update(body).digest('hex'));
}

export function authenticateWebhook(body: Buffer, headers: IncomingHttpHeaders, secret: string): WebhookAuth {
  const checks: { name: string; sender: WebhookSender; valid: () => boolean }[] = [];
  const hub = header(headers, 'x-hub-signature-256');
  const gitea = header(headers, 'x-gitea-signature');
  const forgejo = header(headers, 'x-forgejo-signature');
  const gitlab = header(headers, 'x-gitlab-token');
  const giteaEvent = header(headers, 'x-gitea-event') !== undefined || header(headers, 'x-forgejo-event') !== undefined;
  if (hub !== undefined) checks.push({ name: 'X-Hub-Signature-256', sender: giteaEvent ? 'gitea' : 'github', valid: () => webhookSignatureValid(body, hub, secret) });
  if (gitea !== undefined) checks.push({ name: 'X-Gitea-Signature', sender: 'gitea', valid: () => hexHmacValid(body, gitea, secret) });
  if (forgejo !== undefined) checks.push({ name: 'X-Forgejo-Signature', sender: 'gitea', valid: () => hexHmacValid(body, forgejo, secret) });
  if (gitlab !== undefined) checks.push({ name: 'X-Gitlab-Token', sender: 'gitlab', valid: () => secretsEqual(gitlab, secret) });
  if (checks.length === 0) return { ok: false, reason: 'missing signature (X-Hub-Signature-256, X-Gitlab-Token or X-Gitea-Signature)' };
  // Every check runs, so that the time taken does not say which credential was wrong.
  const wrong = checks.filter((c) => !c.valid());
  if (wrong.length) return { ok: false, reason: `wrong ${wrong.map((c) => c.name).join(', ')}` };
  const senders = new Set(checks.map((c) => c.sender));
  return { ok: true, sender: senders.has('gitea') ? 'gitea' : checks[0].sender };
}

/** The branch ref a push event names, for every host (all three put it in `ref`). */
export function pushedRef(body: Buffer): unknown {
  try {
    return body.length ? (JSON.parse(body.toString('utf8')) as { ref?: unknown }).ref : undefined;
  } catch {
    return undefined; // not JSON: fetch anyway, fetching is idempotent
  }
}

/** A connectivity test rather than a push: GitHub's `ping`; GitLab and Gitea test deliveries are pushes. */
export function isPing(headers: IncomingHttpHeaders): boolean {
  return header(headers, 'x-github-event') === 'ping' && header(headers, 'x-gitea-event') === undefined;
}
