// Bearer-token authentication, compared in constant time.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';

/** Reads a token file, trimming the trailing newline editors add. Refuses an empty token. */
export function readTokenFile(path: string): string {
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 8) throw new Error(`token file ${path} holds fewer than 8 characters; refusing a guessable token`);
  return token;
}

/** Constant-time comparison that does not leak the expected length either (both sides are hashed). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerTokenOf(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** Express middleware: 401 unless the request carries one of the accepted tokens. */
export function requireBearerToken(acceptedTokens: () => readonly string[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = bearerTokenOf(req);
    const ok = given !== undefined && acceptedTokens().some((t) => secretsEqual(given, t));
    if (!ok) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="promshard"');
      res.status(401).json({ error: 'unauthorized: missing or wrong bearer token' });
      return;
    }
    next();
  };
}

/** GitHub-style `X-Hub-Signature-256: sha256=<hex hmac of the raw body>`. */
export function webhookSignatureValid(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = 'sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex');
  return secretsEqual(header, expected);
}

export function signWebhookBody(rawBody: Buffer | string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(rawBody).digest('hex');
}
