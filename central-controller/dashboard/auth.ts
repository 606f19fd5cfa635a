// Read access to the dashboard. Without the controller's open-read flag every view needs the read
// token, given either as `Authorization: Bearer <token>` or once as `?token=<token>`, which is
// exchanged for an HttpOnly, SameSite=Strict cookie. The token in the query string is removed from
// the address bar at once and is never logged.
//
// The cookie never holds the token. It holds when it was issued and when it expires, and an HMAC of
// both keyed with the token: the server refuses it after its expiry whatever the browser's Max-Age
// says (a copied cookie does not live forever), refuses any edited time (the HMAC no longer matches),
// and a rotated token ends every session (the key is gone).
import { createHmac } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { bearerTokenOf, secretsEqual } from '../../core/http/auth.ts';
import { page } from './layout.ts';
import { html } from './html.ts';

export const SESSION_COOKIE = 'promshard_dashboard';
export const DEFAULT_SESSION_MS = 12 * 3600 * 1000;
const SESSION_VERSION = 'v2';

export interface DashboardAuthOptions {
  /** True when the controller runs with open read access (e.g. the demo on loopback). */
  openRead: boolean;
  /** Tokens that grant read access (the read token, and the admin token if the controller accepts it for reads). */
  readTokens: () => readonly string[];
  /** How long a session cookie is honoured after it was issued (default 12 h). */
  sessionMs?: number;
  /** Clock, ms since epoch (tests). */
  now?: () => number;
}

function sessionMac(token: string, issuedS: number, expiresS: number): string {
  return createHmac('sha256', token).update(`promshard-dashboard-session-${SESSION_VERSION}\n${issuedS}.${expiresS}`).digest('base64url');
}

/** A session cookie value for `token`, issued at `nowMs`, valid for `sessionMs`. */
export function issueSession(token: string, nowMs: number, sessionMs: number): string {
  const issuedS = Math.floor(nowMs / 1000);
  const expiresS = issuedS + Math.max(1, Math.ceil(sessionMs / 1000));
  return `${SESSION_VERSION}.${issuedS}.${expiresS}.${sessionMac(token, issuedS, expiresS)}`;
}

/**
 * True when `value` was issued under one of `tokens`, has not expired at `nowMs`, and is no older than
 * `sessionMs` (so shortening the flag also shortens sessions already handed out).
 */
export function sessionValid(value: string, tokens: readonly string[], nowMs: number, sessionMs: number): boolean {
  const m = /^v2\.(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const issuedS = Number(m[1]);
  const expiresS = Number(m[2]);
  // Evaluate every candidate (no early exit on a match) so timing does not reveal which token matched.
  let macOk = false;
  for (const t of tokens) if (secretsEqual(m[3]!, sessionMac(t, issuedS, expiresS))) macOk = true;
  if (!macOk) return false;
  const nowS = nowMs / 1000;
  // A cookie "issued" in the future (beyond a little clock slack) is not one we made.
  return nowS < expiresS && issuedS <= nowS + 60 && nowS - issuedS < sessionMs / 1000;
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
    const now = (o.now ?? Date.now)();
    const sessionMs = o.sessionMs ?? DEFAULT_SESSION_MS;
    const tokens = o.readTokens().filter((t) => t.length > 0);
    const queryToken = typeof req.query.token === 'string' ? req.query.token : undefined;
    if (queryToken !== undefined) {
      if (tokens.length > 0 && tokenValid(queryToken, tokens)) {
        const secure = req.secure ? '; Secure' : '';
        res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${issueSession(queryToken, now, sessionMs)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(1, Math.ceil(sessionMs / 1000))}${secure}`);
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
    if (session !== undefined && tokens.length > 0 && sessionValid(session, tokens, now, sessionMs)) return next();
    return deny(res, bearer !== undefined || session !== undefined ? 'the token or session is not valid (the session may have expired, or the token was rotated)' : 'this dashboard needs the read token');
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
