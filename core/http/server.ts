// Pieces every long-running component's HTTP server shares: /metrics, /healthz, JSON errors, listening.
import type { Express, NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';

export function mountMetricsAndHealth(app: Express, registry: Registry, healthy: () => { ok: boolean; detail?: unknown }) {
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    const h = healthy();
    res.status(h.ok ? 200 : 503).json({ status: h.ok ? 'ok' : 'unhealthy', detail: h.detail ?? null });
  });
}

/** Error middleware: body-parser errors keep their status (400 bad JSON, 413 too large); others are 500. */
export function jsonErrorHandler(log: Logger) {
  // Express recognises error middleware by its four parameters.
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
    const status = e.status ?? e.statusCode ?? 500;
    if (status >= 500) log.error('request failed', { error: err });
    const message =
      e.type === 'entity.too.large' ? 'request body too large' : e.type === 'entity.parse.failed' ? 'request body is not valid JSON' : status >= 500 ? 'internal error' : (e.message ?? 'bad request');
    if (!res.headersSent) res.status(status).json({ error: message });
  };
}

/** Parses `host:port`, accepting `:port` and `[::1]:port`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m) throw new Error(`listen address "${text}" is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen address "${text}": port out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function listen(app: Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
