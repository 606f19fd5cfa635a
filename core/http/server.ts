// Pieces every long-running component's HTTP server shares: /metrics, /healthz, JSON errors, listening.
import type { Express, NextFunction, Request, Response } from 'express';
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.ts';
import { sendJson, type Router } from './router.ts';

type Healthy = () => { ok: boolean; detail?: unknown };

function healthAnswer(healthy: Healthy): { status: number; body: unknown } {
  const h = healthy();
  return { status: h.ok ? 200 : 503, body: { status: h.ok ? 'ok' : 'unhealthy', detail: h.detail ?? null } };
}

export function mountMetricsAndHealth(app: Express, registry: Registry, healthy: Healthy) {
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    const h = healthAnswer(healthy);
    res.status(h.status).json(h.body);
  });
}

/** The same two routes on a Router (the agent's). */
export function routeMetricsAndHealth(router: Router, registry: Registry, healthy: Healthy) {
  router.get('/metrics', async (_req, res) => {
    const text = await registry.metrics();
    res.setHeader('Content-Type', registry.contentType);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  });
  router.get('/healthz', (_req, res) => {
    const h = healthAnswer(healthy);
    sendJson(res, h.status, h.body);
  });
}

/** Error middleware: body-parser errors keep their status (400 bad JSON, 413 too large); others are 500. */
export function jsonErrorHandler(log: Logger) {
  // Express recognises error middleware by its four parameters.
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, message } = errorAnswer(err, log);
    if (!res.headersSent) res.status(status).json({ error: message });
  };
}

/** jsonErrorHandler for a Router: what a step threw, answered the same way. */
export function routeErrorHandler(log: Logger) {
  return (err: unknown, res: ServerResponse) => {
    const { status, message } = errorAnswer(err, log);
    sendJson(res, status, { error: message });
  };
}

function errorAnswer(err: unknown, log: Logger): { status: number; message: string } {
  const e = err as { status?: number; statusCode?: number; type?: string; message?: string };
  const status = e.status ?? e.statusCode ?? 500;
  if (status >= 500) log.error('request failed', { error: err });
  const message =
    e.type === 'entity.too.large' ? 'request body too large' : e.type === 'entity.parse.failed' ? 'request body is not valid JSON' : status >= 500 ? 'internal error' : (e.message ?? 'bad request');
  return { status, message };
}

/** Parses `host:port`, accepting `:port` and `[::1]:port`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m) throw new Error(`listen address "${text}" is not HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen address "${text}": port out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** Serves an express app or any request listener (a Router's handle), as express's app.listen does. */
export function listen(app: Express | RequestListener, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app as RequestListener).listen(port, host);
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}
