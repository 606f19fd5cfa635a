// POST /v1/webhook: GitHub-style push webhook. The raw body (size-limited) is checked against
// X-Hub-Signature-256 (HMAC-SHA256 with the webhook secret) before anything else happens; a push to
// another branch is acknowledged and ignored; anything else triggers a fetch.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { webhookSignatureValid } from '../../core/http/auth.ts';
import type { ControllerRuntime } from '../runtime.ts';

export function mountWebhookRoute(app: Express, rt: ControllerRuntime, secret: () => string, maxBytes: number): void {
  const raw = express.raw({ type: () => true, limit: maxBytes });
  // The raw parser alone answers 413 only after reading the whole body: an unauthenticated client
  // declaring a huge Content-Length held the connection until the server's request timeout.
  const declaredSize = (req: Request, res: Response, next: NextFunction) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.setHeader('Connection', 'close');
      return void res.status(413).json({ error: 'request body too large' });
    }
    next();
  };
  app.post('/v1/webhook', declaredSize, raw, (req, res) => {
    const receivedAt = Date.now();
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const header = req.headers['x-hub-signature-256'];
    if (!webhookSignatureValid(body, typeof header === 'string' ? header : undefined, secret())) {
      rt.log.warn('webhook refused: missing or wrong signature', { remote: req.socket.remoteAddress });
      return void res.status(401).json({ error: 'missing or wrong X-Hub-Signature-256' });
    }
    if (req.headers['x-github-event'] === 'ping') return void res.json({ ok: true, pong: true });
    let ref: unknown;
    try {
      ref = body.length ? (JSON.parse(body.toString('utf8')) as { ref?: unknown }).ref : undefined;
    } catch {
      ref = undefined; // not JSON (or not GitHub): fetch anyway, fetching is idempotent
    }
    const branchRef = `refs/heads/${rt.state.repository.branch}`;
    if (typeof ref === 'string' && ref !== branchRef) return void res.status(202).json({ ok: true, ignored: `push to ${ref}, following ${branchRef}` });
    void rt.sync('webhook', receivedAt).catch(() => undefined);
    res.status(202).json({ ok: true, fetching: true });
  });
}
