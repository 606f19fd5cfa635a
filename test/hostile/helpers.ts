// Shared pieces of the hostile-input suite: raw HTTP over a socket (for requests fetch refuses to
// send: absurd Content-Length, unnormalised paths, garbage headers), and route listing from an
// express app's router, so that an endpoint added later cannot be left out of the auth matrix.
import { connect } from 'node:net';
import type { Express } from 'express';
import { Router } from '../../core/http/router.ts';

export interface RawAnswer {
  /** 0 when the server closed the connection without an HTTP answer. */
  status: number;
  head: string;
  body: string;
}

/** Sends `request` verbatim to host:port and reads the answer until the server closes or `timeoutMs`. */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: m ? Number(m[1]) : 0, head: split >= 0 ? text.slice(0, split) : text, body: split >= 0 ? text.slice(split + 4) : '' });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (d) => {
      data = Buffer.concat([data, d]);
      // One answer is enough: stop once a full head with a known length (or a close) arrived.
      const text = data.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split >= 0) {
        const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
        if (len && data.length >= split + 4 + Number(len[1])) finish();
      }
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.write(request);
  });
}

export interface RouteEntry {
  method: string;
  path: string;
}

/** Every method + path the app's router serves (express 5: app.router.stack; the agent's core/http Router: routes()). */
export function routesOf(app: Express | Router): RouteEntry[] {
  if (app instanceof Router) return app.routes();
  const stack = (app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
  const out: RouteEntry[] = [];
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push({ method: m.toUpperCase(), path: layer.route.path });
  }
  return out;
}

export const routeKey = (r: RouteEntry) => `${r.method} ${r.path}`;

/** Deterministic PRNG and seed printing for the fuzzers. */
export function fuzzSeed(envName = 'PROMSHARD_FUZZ_SEED'): number {
  const v = process.env[envName];
  if (v) return Number(v) >>> 0;
  // CI gates a merge, so it replays a known seed; runs elsewhere explore new ones.
  return process.env.CI ? 1 : Math.floor(Math.random() * 2 ** 32) >>> 0;
}

export async function fetchStatus(url: string, init: RequestInit = {}, timeoutMs = 5000): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}
