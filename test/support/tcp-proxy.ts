// A tiny TCP proxy on loopback for fault injection: put it between a client (the controller) and a
// server (an agent) and switch it at any time between
//   pass     — forward bytes both ways;
//   delay    — hold every new connection for `delayMs` before connecting upstream (a slow network);
//   refuse   — reset every new connection at once (the client sees ECONNRESET);
//   blackhole — accept and never answer (the client times out).
// Switching mode also cuts the connections already open (as a partition would), unless asked not to.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = { kind: 'pass' } | { kind: 'delay'; delayMs: number } | { kind: 'refuse' } | { kind: 'blackhole' };

export interface TcpProxy {
  port: number;
  url: string;
  mode: ProxyMode;
  /** Connections accepted so far, by the mode they met. */
  readonly counts: Record<ProxyMode['kind'], number>;
  setMode(mode: ProxyMode, opts?: { cutOpen?: boolean }): void;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: { host?: string; port: number }, opts: { port?: number } = {}): Promise<TcpProxy> {
  const host = upstream.host ?? '127.0.0.1';
  const open = new Set<Socket>();
  const counts: Record<ProxyMode['kind'], number> = { pass: 0, delay: 0, refuse: 0, blackhole: 0 };
  let mode: ProxyMode = { kind: 'pass' };

  const track = (s: Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
    s.on('error', () => undefined);
  };

  const server: Server = createServer((client) => {
    track(client);
    const m = mode;
    counts[m.kind]++;
    if (m.kind === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (m.kind === 'blackhole') {
      client.pause();
      return;
    }
    // Bytes that arrive while we wait are buffered by the paused socket.
    client.pause();
    const go = () => {
      if (client.destroyed) return;
      const up = connect(upstream.port, host);
      track(up);
      up.once('connect', () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      const end = () => {
        client.destroy();
        up.destroy();
      };
      up.once('error', end);
      up.once('close', end);
      client.once('close', end);
    };
    if (m.kind === 'delay') setTimeout(go, m.delayMs).unref();
    else go();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return mode;
    },
    set mode(m: ProxyMode) {
      mode = m;
    },
    counts,
    setMode(m, o = {}) {
      mode = m;
      if (o.cutOpen ?? m.kind !== 'pass') for (const s of open) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
