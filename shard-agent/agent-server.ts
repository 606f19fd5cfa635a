// The agent's HTTP API (see core/protocol/agent-api.ts). Authentication runs before the body is
// read, so an unauthenticated client cannot make the agent buffer megabytes; the body limit then
// answers 413 before any of it is parsed.
//
// Callers: the agent's own credential (which the controller presents, and which the agent presents to
// the controller), or the admin token, recognised by its SHA-256 so that the agent host never holds
// it. Only the admin may force (`?force=true` applies an older revision), so whoever holds an
// agent's credential cannot roll it back or pin it on purpose.
// Routed by core/http/router.ts on node:http rather than express, which cost the agent about 12 MB of
// RSS (docs/agent.md, Memory); the answers, statuses and limits are the ones express gave.
import type { ServerResponse } from 'node:http';
import { matchesDigest } from '../core/http/agent-credential.ts';
import { bearerTokenOf, secretsEqual } from '../core/http/auth.ts';
import { jsonBody, refuseDeclaredOversize } from '../core/http/json-body.ts';
import { Router, sendJson, type RouteRequest } from '../core/http/router.ts';
import { routeErrorHandler, routeMetricsAndHealth } from '../core/http/server.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import type { AgentStatusDetail, ApplyPipeline } from './apply-pipeline.ts';
import type { AgentTargets } from '../core/protocol/agent-api.ts';
import { MAX_JOBS_PER_CALL } from './target-health.ts';

/** Hook for the cardinality analyzer (shard-agent/cardinality/), which is built separately. */
export interface FlagSource {
  flags(): unknown[];
  analyzeNow(): Promise<unknown[]>;
}

/** Per-job series and targets measured by the last cardinality cycle (for plan and the dashboard). */
export interface UsageSource {
  usage(): { measuredAt: string | null; headSeries: number | null; jobs: { job: string; series: number; targets: number }[] };
}

export interface AgentAppOptions {
  pipeline: ApplyPipeline;
  /** Credentials accepted from callers (the agent's own). */
  tokens: () => readonly string[];
  /** Hex SHA-256 of the admin token: accepted everywhere, and the only credential that may force. */
  adminTokenSha256?: () => string | undefined;
  maxBody: string | number;
  metrics: AgentMetrics;
  log: Logger;
  status: () => AgentStatusDetail;
  flagSource?: FlagSource;
  usageSource?: UsageSource;
  /** The active targets of some jobs in this agent's Prometheus (target-health.ts). */
  targetSource?: (jobs: string[]) => Promise<AgentTargets>;
}

export function createAgentApp(o: AgentAppOptions): Router {
  const app = new Router((_req, res) => sendJson(res, 404, { error: 'not found' }), routeErrorHandler(o.log));
  routeMetricsAndHealth(app, o.metrics.registry, () => {
    const s = o.status();
    return { ok: true, detail: { prometheusReachable: s.prometheusReachable, applied: s.applied, applying: s.applying } };
  });

  const auth = (req: RouteRequest, res: ServerResponse) => {
    const given = bearerTokenOf(req);
    const digest = o.adminTokenSha256?.();
    let own = false;
    if (given !== undefined) for (const t of o.tokens()) if (secretsEqual(given, t)) own = true;
    const admin = given !== undefined && digest !== undefined && matchesDigest(given, digest);
    if (!own && !admin) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="promshard"');
      sendJson(res, 401, { error: 'unauthorized: missing or wrong bearer token' });
      return;
    }
    req.locals.admin = admin;
  };
  // Before the body is read: a refused force costs the caller nothing but the headers.
  const forceNeedsAdmin = (req: RouteRequest, res: ServerResponse) => {
    if (req.query.force !== undefined && req.query.force !== 'false' && req.locals.admin !== true) {
      sendJson(res, 403, { error: 'forbidden: ?force=true needs the admin token (the agent credential may only push documents that move forward)' });
    }
  };
  // refuseDeclaredOversize: 413 at once when the declared Content-Length is over the limit. The JSON
  // body reader alone answers 413 only after reading the whole body, so a client declaring 100 TB held
  // the connection open until the server's request timeout (5 minutes) without ever being answered.
  app.post('/v1/apply', auth, forceNeedsAdmin, refuseDeclaredOversize(o.maxBody), jsonBody(o.maxBody), async (req, res) => {
    const reply = await o.pipeline.submit({ document: req.body, force: req.query.force === 'true', source: 'push' });
    sendJson(res, reply.httpStatus, reply.body);
  });
  app.get('/v1/status', auth, (_req, res) => {
    sendJson(res, 200, o.status());
  });
  app.get('/v1/flags', auth, (_req, res) => {
    sendJson(res, 200, { flags: o.flagSource?.flags() ?? [] });
  });
  app.get('/v1/usage', auth, (_req, res) => {
    sendJson(res, 200, o.usageSource?.usage() ?? { measuredAt: null, headSeries: null, jobs: [] });
  });
  app.get('/v1/targets', auth, async (req, res) => {
    const given = req.query.job;
    const jobs = (Array.isArray(given) ? given : given === undefined ? [] : [given]).filter((j): j is string => typeof j === 'string');
    if (jobs.length === 0 || jobs.length > MAX_JOBS_PER_CALL) {
      sendJson(res, 400, { error: `give 1 to ${MAX_JOBS_PER_CALL} job names as ?job=NAME (got ${jobs.length})` });
      return;
    }
    sendJson(res, 200, o.targetSource ? await o.targetSource(jobs) : { prometheusReachable: false, targets: [] });
  });
  app.post('/v1/cardinality/analyze', auth, async (_req, res) => {
    sendJson(res, 200, { flags: o.flagSource ? await o.flagSource.analyzeNow() : [] });
  });
  return app;
}
