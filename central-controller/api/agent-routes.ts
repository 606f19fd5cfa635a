// The controller endpoints agents call (core/protocol/agent-api.ts): register, report/heartbeat, and
// pull the desired document of their shard.
import express, { type Express, type RequestHandler, type Response } from 'express';
import type { AgentRegistration } from '../../core/protocol/agent-api.ts';
import { validateProtocol } from '../../core/protocol/protocol-validator.ts';
import type { ControllerRuntime } from '../runtime.ts';
import { documentForReplica } from '../replica-status.ts';
import { AGENT_NAME as NAME } from '../../core/http/agent-credential.ts';
import { scopeRefusal } from './auth-guards.ts';

function registrationOf(body: unknown): AgentRegistration | string {
  const b = body as Partial<AgentRegistration> | null;
  if (!b || typeof b !== 'object') return 'body must be a JSON object';
  if (typeof b.shard !== 'string' || !NAME.test(b.shard)) return 'shard must be a name of letters, digits, . _ -';
  if (typeof b.replica !== 'string' || !NAME.test(b.replica)) return 'replica must be a name of letters, digits, . _ -';
  if (typeof b.url !== 'string' || !/^https?:\/\/[^\s]+$/.test(b.url) || b.url.length > 512) return 'url must be an http(s) URL';
  return { shard: b.shard, replica: b.replica, url: b.url };
}

export function mountAgentRoutes(app: Express, rt: ControllerRuntime, guard: RequestHandler): void {
  const json = express.json({ limit: '1mb', strict: true });

  // A malformed body from a known agent (after the credential check) marks that agent faulty too.
  const refuse = (res: Response, body: unknown, endpoint: 'register' | 'report', error: string) => {
    const b = body as { shard?: unknown; replica?: unknown } | null;
    const known = typeof b?.shard === 'string' && typeof b.replica === 'string' ? rt.state.agents.get(b.shard, b.replica) : undefined;
    if (known && !scopeRefusal(res, known.shard, known.replica)) rt.faults.fault(known, endpoint, error);
    res.status(400).json({ error });
  };

  app.post('/v1/agents/register', guard, json, (req, res) => {
    const reg = registrationOf(req.body);
    if (typeof reg === 'string') return refuse(res, req.body, 'register', reg);
    // Only this replica's credential may say where this replica is: the controller sends that
    // credential (and the shard's document) to the URL registered here.
    const refused = scopeRefusal(res, reg.shard, reg.replica);
    if (refused) return void res.status(403).json({ error: refused });
    const { record, isNew } = rt.state.agents.register(reg.shard, reg.replica, reg.url);
    if (record.static && record.url !== reg.url.replace(/\/+$/, '')) rt.log.warn('a static agent registered with another address; keeping the configured one (--agents-file)', { shard: reg.shard, replica: reg.replica, configured: record.url, registered: reg.url });
    if (isNew || record.reachable === false) rt.state.record({ type: 'agent-registered', shard: reg.shard, replica: reg.replica, message: `agent ${record.key} registered at ${reg.url}` });
    // A pod Kubernetes does not count Ready stays unreachable whatever its agent says.
    record.reachable = !record.kubernetes || record.kubernetes.ready;
    record.lastContactAt = Date.now();
    rt.log.info('agent registered', { shard: reg.shard, replica: reg.replica, url: reg.url, isNew });
    // Learn what it runs right away, then let its shard's worker act on it.
    void rt
      .pollStatus(record)
      .then(() => rt.kickShard(reg.shard))
      .catch((err) => rt.log.error('first status poll after registration failed', { shard: reg.shard, replica: reg.replica, error: err }));
    rt.faults.ok(record, 'register');
    res.json({ ok: true });
  });

  app.post('/v1/agents/report', guard, json, (req, res) => {
    const reg = registrationOf(req.body);
    if (typeof reg === 'string') return refuse(res, req.body, 'report', reg);
    const refused = scopeRefusal(res, reg.shard, reg.replica);
    if (refused) return void res.status(403).json({ error: refused });
    // The whole report against its schema (core/protocol/schemas.ts): nothing of a bad one is kept.
    const report = validateProtocol('report', req.body);
    if (!report.ok) return refuse(res, req.body, 'report', `report does not fit the protocol: ${report.error}`);
    const status = report.value.status;
    let record = rt.state.agents.get(reg.shard, reg.replica);
    if (!record) record = rt.state.agents.register(reg.shard, reg.replica, reg.url).record;
    else if (record.url !== reg.url) rt.state.agents.register(reg.shard, reg.replica, reg.url);
    const wasUnreachable = record.reachable === false;
    const before = record.applied ? `${record.applied.hash}/${record.applied.verified}` : null;
    rt.faults.ok(record, 'report');
    rt.state.agents.observeStatus(record, status, 'report');
    // Still unreachable after reporting: Kubernetes says its pod is not Ready (AgentRegistry.observeStatus).
    if (wasUnreachable && record.reachable !== false) {
      rt.state.record({ type: 'agent-reachable', shard: reg.shard, replica: reg.replica, message: `agent ${record.key} reports again` });
      rt.kickShard(reg.shard);
    }
    const after = record.applied ? `${record.applied.hash}/${record.applied.verified}` : null;
    if (before !== after) rt.state.shardChanged(reg.shard);
    res.json({ ok: true });
  });

  app.get('/v1/agents/desired', guard, (req, res) => {
    const shard = typeof req.query.shard === 'string' ? req.query.shard : '';
    const replica = typeof req.query.replica === 'string' ? req.query.replica : '';
    if (!NAME.test(shard)) return void res.status(400).json({ error: 'shard query parameter required' });
    const refused = scopeRefusal(res, shard, replica);
    if (refused) return void res.status(403).json({ error: refused });
    // A follower hands out nothing: only the leader's documents carry the term agents accept.
    if (!rt.leadership.isLeader()) return void res.status(404).json({ error: `this controller is not the leader (leader: ${rt.leadership.info().leader ?? 'none yet'}); nothing to pull here` });
    const s = rt.state.shards.get(shard);
    const doc = s ? documentForReplica(s, rt.state.agents.replicasOf(shard), replica) : null;
    if (!doc) return void res.status(404).json({ error: `no desired document for shard ${shard}` });
    const term = rt.leadership.term();
    res.json(term > 0 ? { ...doc, term } : doc);
  });
}
