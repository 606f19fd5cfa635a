// The controller's express app, composable: `createControllerApp` mounts the API; a dashboard module
// can add routes (e.g. at `/`) to the same app before or after, and read the same ControllerState.
import express, { type Express } from 'express';
import { jsonErrorHandler, mountMetricsAndHealth } from '../core/http/server.ts';
import { mountAgentRoutes } from './api/agent-routes.ts';
import { authGuards, type Tokens } from './api/auth-guards.ts';
import { mountEventStream } from './api/event-stream.ts';
import { mountReadRoutes } from './api/read-routes.ts';
import { mountWebhookRoute } from './api/webhook-route.ts';
import { mountDashboard } from './dashboard/mount.ts';
import type { ControllerRuntime } from './runtime.ts';

export interface ControllerAppOptions {
  tokens: () => Tokens;
  webhookSecret: () => string;
  openReadAccess: boolean;
  webhookMaxBytes: number;
  /** How long a dashboard session cookie is honoured (default 12 h). */
  dashboardSessionMs?: number;
  /** The global view linked from the dashboard's header. */
  globalViewUrl?: string;
  /** Mounted after the API and before the 404 handler (the dashboard). */
  extraRoutes?: (app: Express, guards: ReturnType<typeof authGuards>) => void;
}

export function createControllerApp(rt: ControllerRuntime, o: ControllerAppOptions): { app: Express; guards: ReturnType<typeof authGuards> } {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const guards = authGuards(o.tokens, o.openReadAccess);
  mountMetricsAndHealth(app, rt.metrics.registry, () => ({
    ok: rt.state.repository.lastSyncError === null || rt.state.repository.lastGood !== null,
    detail: {
      valid: rt.state.repository.valid,
      lastGood: rt.state.repository.lastGood?.sha ?? null,
      lastSyncError: rt.state.repository.lastSyncError,
      // Shown, not unhealthy: the fleet runs on without it, but a restart would forget registered agents.
      agentsFileError: rt.state.agents.saveError,
      // Shown, but not unhealthy: a 403 restarting the controller (liveness) would only crash-loop it.
      ...(rt.kubernetes ? { kubernetes: (({ ok, error }) => ({ ok, error }))(rt.kubernetes()) } : {}),
    },
  }));
  mountWebhookRoute(app, rt, o.webhookSecret, o.webhookMaxBytes);
  mountAgentRoutes(app, rt, guards.agent);
  mountEventStream(app, rt, guards.read);
  mountReadRoutes(app, rt, guards.read, guards.admin);
  // The web dashboard at / (central-controller/dashboard/): same read access as the GET endpoints.
  mountDashboard(app, rt, { openRead: o.openReadAccess, readTokens: () => [o.tokens().admin, o.tokens().read].filter((t): t is string => !!t), sessionMs: o.dashboardSessionMs, globalViewUrl: o.globalViewUrl });
  o.extraRoutes?.(app, guards);
  app.use('/v1', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(jsonErrorHandler(rt.log));
  return { app, guards };
}
