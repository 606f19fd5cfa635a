// POST /v1/webhook: push webhooks from GitHub, GitLab and Gitea/Forgejo. The raw body (size-limited)
// is checked against the sender's credential (webhook-auth.ts) before anything else happens; a push
// to another branch is acknowledged and ignored; anything else triggers a fetch.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { authenticateWebhook, isPing, pushedRef } from './webhook-auth.ts';
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
    const auth = authenticateWebhook(body, req.headers, secret());
    if (!auth.ok) {
      rt.log.warn('webhook refused: missing or wrong signature', { remote: req.socket.remoteAddress, reason: auth.reason });
      return void res.status(401).json({ error: `${auth.reason}` });
    }
    if (isPing(req.headers)) return void res.json({ ok: true, pong: true });
    const ref = pushedRef(body);
    const branchRef = `refs/heads/${rt.state.repository.branch}`;
    if (typeof ref === 'string' && ref !== branchRef) return void res.status(202).json({ ok: true, ignored: `push to ${ref}, following ${branchRef}` });
    void rt.sync('webhook', receivedAt).catch(() => undefined);
    res.status(202).json({ ok: true, fetching: true });
  });
}
