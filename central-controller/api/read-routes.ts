// The read API (bearer: read or admin token) and the admin actions.
import type { Express, RequestHandler } from 'express';
import type { ControllerRuntime } from '../runtime.ts';
import { seriesUsage } from '../controller-state.ts';
import { revisionTouchesTeam } from '../revision-life.ts';
import { flagKey } from '../../core/cardinality-fix/flag-key.ts';
import { agentsView, filterFlags, repositoryView, shardDetailView, shardsView, teamsView, teamView } from '../views.ts';

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

export function mountReadRoutes(app: Express, rt: ControllerRuntime, read: RequestHandler, admin: RequestHandler): void {
  app.get('/v1/leader', read, (_req, res) => {
    res.json(rt.leadership.info());
  });
  // Kubernetes agent discovery: namespaces watched, their errors (e.g. RBAC 403), pods found and ignored.
  app.get('/v1/kubernetes', read, (_req, res) => {
    res.json(rt.kubernetes?.() ?? { enabled: false });
  });
  app.get('/v1/repository', read, (_req, res) => {
    res.json(repositoryView(rt.state));
  });
  app.get('/v1/shards', read, (_req, res) => {
    res.json({ shards: shardsView(rt.state), wave: rt.wave() });
  });
  app.get('/v1/shards/:name', read, (req, res) => {
    const s = rt.state.shards.get(String(req.params.name));
    if (!s && !rt.state.agents.shardsWithAgents().includes(String(req.params.name))) return void res.status(404).json({ error: 'no such shard' });
    res.json(shardDetailView(rt.state, s ?? rt.state.shard(String(req.params.name))));
  });
  app.get('/v1/shards/:name/document', read, (req, res) => {
    const s = rt.state.shards.get(String(req.params.name));
    if (!s?.desired) return void res.status(404).json({ error: 'no desired document for this shard' });
    res.json(s.desired);
  });
  app.get('/v1/teams', read, (_req, res) => {
    res.json({ teams: teamsView(rt.state) });
  });
  app.get('/v1/teams/:team', read, (req, res) => {
    const t = teamView(rt.state, String(req.params.team));
    if (!t) return void res.status(404).json({ error: 'no such team' });
    res.json(t);
  });
  app.get('/v1/flags', read, (req, res) => {
    // `key`: the flag's short handle (`promshard fix KEY`, the fix branch promshard/fix-KEY, the dashboard).
    res.json({ flags: filterFlags(rt.state.allFlags(), { team: str(req.query.team), shard: str(req.query.shard) }).map((f) => ({ key: flagKey(f.id), ...f })) });
  });
  app.get('/v1/series', read, (_req, res) => {
    res.json(seriesUsage(rt.state));
  });
  // Shards whose split layout is changing, with each moved target's handover (resharding/).
  app.get('/v1/reshards', read, (_req, res) => {
    res.json(rt.reshards());
  });
  app.get('/v1/agents', read, (_req, res) => {
    res.json({ agents: agentsView(rt.state) });
  });
  app.get('/v1/events', read, (req, res) => {
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 100) || 100));
    res.json({ events: rt.state.recentEvents(limit, Number(req.query.since ?? 0) || 0) });
  });
  // Each recent revision's life (central-controller/revision-life.ts); ?team= keeps those touching a team.
  app.get('/v1/revisions', read, (req, res) => {
    const team = str(req.query.team);
    res.json({ revisions: rt.state.revisions.list().filter((r) => !team || revisionTouchesTeam(r, team)) });
  });
  app.get('/v1/revisions/:sha', read, (req, res) => {
    const r = rt.state.revisions.get(String(req.params.sha));
    if (!r) return void res.status(404).json({ error: `no record of revision ${String(req.params.sha).slice(0, 64)} (the controller keeps the last ${rt.state.revisions.capacity})` });
    res.json(r);
  });
  app.post('/v1/sync', admin, async (_req, res) => {
    try {
      await rt.sync('api', Date.now());
      res.json({ ok: true, repository: repositoryView(rt.state) });
    } catch (err) {
      res.status(502).json({ error: `sync failed: ${(err as Error).message}` });
    }
  });
}
