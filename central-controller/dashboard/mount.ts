// mountDashboard(app, runtime, options): the controller's web dashboard on the controller's own
// express app. Server-rendered pages, one small script and one stylesheet served as files (no inline
// script or style: the Content-Security-Policy forbids both), and a server-sent-event feed.
//
//   GET /                    fleet
//   GET /shards/:name        one shard: replicas, rollouts, jobs and targets, rendered configuration
//   GET /teams               teams
//   GET /teams/:team         one team: jobs, targets, cardinality flags with their fixes
//   GET /repository          head and last good commit, findings with file:line:col
//   GET /revisions/:sha      one revision's life: where it landed, each new target's health
//   GET /dashboard/events    live feed for the pages (SSE)
//   GET /dashboard/assets/*  script, stylesheet, icon (no token needed: no data in them)
import { join } from 'node:path';
import { projectRoot } from '../../core/project-root.ts';
import { readFileSync } from 'node:fs';
import type { Express, NextFunction, Request, Response } from 'express';
import type { ControllerRuntime } from '../runtime.ts';
import { requireDashboardRead } from './auth.ts';
import { LiveHub } from './live.ts';
import { ASSET_PREFIX } from './layout.ts';
import { fleetPage, notFoundPage, repositoryPage, shardPage, teamPage, teamsPage, type PageContext } from './pages.ts';
import type { SafeHtml } from './html.ts';
import { revisionPage } from './revision-page.ts';

export interface DashboardOptions {
  /** The controller's --open-read-access: views without a token. */
  openRead: boolean;
  /** Tokens that grant read access (read and admin tokens). */
  readTokens: () => readonly string[];
  /** How long a dashboard session cookie is honoured (default 12 h). */
  sessionMs?: number;
  /** The global view (a Prometheus UI, Thanos Query, Grafana…) linked from every page's header. */
  globalViewUrl?: string;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS: Record<string, { file: string; type: string }> = {
  'dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  'dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  'favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  next();
}

export interface MountedDashboard {
  live: LiveHub;
}

export function mountDashboard(app: Express, rt: ControllerRuntime, opts: DashboardOptions): MountedDashboard {
  const assets = new Map<string, { body: Buffer; type: string }>();
  for (const [name, a] of Object.entries(ASSETS)) assets.set(name, { body: readFileSync(join(projectRoot(), 'central-controller', 'dashboard', 'assets', a.file)), type: a.type });

  const live = new LiveHub(rt);
  const ctx: PageContext = { state: rt.state, wave: () => rt.wave(), leader: () => rt.leadership.info(), kubernetes: () => rt.kubernetes?.(), globalViewUrl: opts.globalViewUrl, reshards: () => rt.reshards() };
  const read = requireDashboardRead({ openRead: opts.openRead, readTokens: opts.readTokens, sessionMs: opts.sessionMs });
  const send = (res: Response, status: number, body: SafeHtml) => {
    res.status(status).setHeader('Cache-Control', 'no-store');
    res.type('html').send(body.value);
  };

  app.get(`${ASSET_PREFIX}/:file`, securityHeaders, (req, res) => {
    const a = assets.get(String(req.params.file));
    if (!a) return void res.status(404).type('text').send('not found');
    res.setHeader('Cache-Control', 'no-cache');
    res.type(a.type).send(a.body);
  });
  app.get('/', securityHeaders, read, (_req, res) => send(res, 200, fleetPage(ctx)));
  app.get('/teams', securityHeaders, read, (_req, res) => send(res, 200, teamsPage(ctx)));
  app.get('/teams/:team', securityHeaders, read, (req, res) => {
    const team = String(req.params.team);
    const p = teamPage(ctx, team);
    send(res, p ? 200 : 404, p ?? notFoundPage(ctx, `No team named “${team}” has jobs or flags.`));
  });
  app.get('/shards/:name', securityHeaders, read, (req, res) => {
    const name = String(req.params.name);
    const s = rt.state.shards.get(name) ?? (rt.state.agents.shardsWithAgents().includes(name) ? rt.state.shard(name) : undefined);
    send(res, s ? 200 : 404, s ? shardPage(ctx, s) : notFoundPage(ctx, `No shard named “${name}”.`));
  });
  app.get('/repository', securityHeaders, read, (_req, res) => send(res, 200, repositoryPage(ctx)));
  app.get('/revisions/:sha', securityHeaders, read, (req, res) => {
    const r = rt.state.revisions.get(String(req.params.sha));
    send(res, r ? 200 : 404, r ? revisionPage(ctx, r) : notFoundPage(ctx, `No record of revision “${String(req.params.sha).slice(0, 64)}”: the controller keeps the last ${rt.state.revisions.capacity}.`));
  });
  app.get('/dashboard/events', securityHeaders, read, (req, res) => live.handle(req, res));
  return { live };
}
