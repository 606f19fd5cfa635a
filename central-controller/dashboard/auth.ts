// Read access to the dashboard. Without the controller's open-read flag every view needs the read
// token, given either as `Authorization: Bearer <token>` or once as `?token=<token>`, which is
// exchanged for an HttpOnly, SameSite=Strict cookie. The cookie holds an HMAC derived from the token,
// never the token itself, so rotating the token ends every session. The token in the query string is
// removed from the address bar at once and is never logged.
import { createHmac } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { bearerTokenOf, secretsEqual } from '../../core/http/auth.ts';
import { page } from './layout.ts';
import { html } from './html.ts';

export const SESSION_COOKIE = 'promshard_dashboard';
const SESSION_MAX_AGE_S = 12 * 3600;

export interface DashboardAuthOptions {
  /** True when the controller runs with open read access (e.g. the demo on loopback). */
  openRead: boolean;
  /** Tokens that grant read access (the read token, and the admin token if the controller accepts it for reads). */
  readTokens: () => readonly string[];
}

function sessionValueFor(token: string): string {
  return createHmac('sha256', token).update('promshard-dashboard-session-v1').digest('base64url');
}

function cookieOf(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

function tokenValid(given: string, tokens: readonly string[]): boolean {
  // Evaluate every candidate (no early exit on a match) so timing does not reveal which token matched.
  let ok = false;
  for (const t of tokens) if (secretsEqual(given, t)) ok = true;
  return ok;
}

function sessionValid(value: string, tokens: readonly string[]): boolean {
  let ok = false;
  for (const t of tokens) if (secretsEqual(value, sessionValueFor(t))) ok = true;
  return ok;
}

/** The request's URL without the `token` query parameter (relative, same origin). */
export function urlWithoutToken(req: Request): string {
  const u = new URL(req.originalUrl, 'http://dashboard.invalid');
  u.searchParams.delete('token');
  const q = u.searchParams.toString();
  // Never a protocol-relative address ("//host/..."): the result must stay on this origin.
  return u.pathname.replace(/^\/+/, '/') + (q ? `?${q}` : '');
}

/** Express middleware guarding the dashboard's read-only views. */
export function requireDashboardRead(o: DashboardAuthOptions) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (o.openRead) return next();
    const tokens = o.readTokens().filter((t) => t.length > 0);
    const queryToken = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (queryToken !== undefined) {
      if (tokens.length > 0 && tokenValid(queryToken, tokens)) {
        const secure = req.secure ? '; Secure' : '';
        res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${sessionValueFor(queryToken)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`);
        // A same-origin meta refresh rather than a 303: a redirect that ends a navigation started on
        // another site (a link in chat) would not carry a SameSite=Strict cookie.
        const target = urlWithoutToken(req);
        res.setHeader('Cache-Control', 'no-store');
        res.status(200).type('html').send(
          page({
            title: 'Signed in',
            refreshTo: target,
            body: html`<section class="panel"><h1>Signed in</h1><p>Continue to <a href="${target}">${target}</a>.</p></section>`,
          }).value,
        );
        return;
      }
      return deny(res, 'the token in the address is not valid');
    }
    const bearer = bearerTokenOf(req);
    if (bearer !== undefined && tokens.length > 0 && tokenValid(bearer, tokens)) return next();
    const session = cookieOf(req, SESSION_COOKIE);
    if (session !== undefined && tokens.length > 0 && sessionValid(session, tokens)) return next();
    return deny(res, bearer !== undefined || session !== undefined ? 'the token or session is not valid (was the token rotated?)' : 'this dashboard needs the read token');
  };
}

function deny(res: Response, why: string): void {
  res.setHeader('WWW-Authenticate', 'Bearer realm="promshard"');
  res.setHeader('Cache-Control', 'no-store');
  res.status(401).type('html').send(
    page({
      title: 'Sign in',
      body: html`<section class="panel"><h1>Read token required</h1>
<p>${why}.</p>
<p>Open this page once with <code>?token=YOUR_READ_TOKEN</code> appended to the address (it is exchanged for a session cookie and removed from the address), or send <code>Authorization: Bearer YOUR_READ_TOKEN</code>.</p></section>`,
    }).value,
  );
}
