// Authentication matrix: every route of the agent and of the controller × every kind of caller →
// the expected status. The route lists come from the express routers themselves and must equal the
// tables below, so a new endpoint cannot ship without a line here saying who may call it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { adminTokenDigest, deriveAgentToken } from '../../core/http/agent-credential.ts';
import { createLogger } from '../../core/log/logger.ts';
import { createAgentMetrics } from '../../shard-agent/agent-metrics.ts';
import { createAgentApp } from '../../shard-agent/agent-server.ts';
import type { ApplyPipeline } from '../../shard-agent/apply-pipeline.ts';
import { startAgent, type RunningAgent } from '../../shard-agent/start-agent.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { fetchStatus, routeKey, routesOf } from './helpers.ts';

const ADMIN = 'matrix-admin-token-0001';
const READ = 'matrix-read-token-0002';
const AGENT_SECRET = 'matrix-agent-secret-0003';
const WRONG = 'matrix-wrong-token-9999';
// Per-agent credentials: the agent under test is networking/a; "sibling" is the other replica of its
// shard, "stranger" a replica of another shard, "forged" a credential made with another secret.
const AGENT = deriveAgentToken(AGENT_SECRET, { shard: 'networking', replica: 'a' });

type Caller = 'none' | 'wrong' | 'read' | 'agent' | 'sibling' | 'stranger' | 'forged' | 'admin';
const CALLERS: Caller[] = ['none', 'wrong', 'read', 'agent', 'sibling', 'stranger', 'forged', 'admin'];
const tokenOf: Record<Caller, string | null> = {
  none: null,
  wrong: WRONG,
  read: READ,
  agent: AGENT,
  sibling: deriveAgentToken(AGENT_SECRET, { shard: 'networking', replica: 'b' }),
  stranger: deriveAgentToken(AGENT_SECRET, { shard: 'storage', replica: 'a' }),
  forged: deriveAgentToken('another-secret-of-8+', { shard: 'networking', replica: 'a' }),
  admin: ADMIN,
};

interface Row {
  /** Concrete request for the route pattern. */
  path: string;
  body?: string;
  /** Server-sent events: only the status is read. */
  stream?: boolean;
  expect: Partial<Record<Caller, number>> & { default: number };
}

const OPEN = { default: 200 };
const READERS = { default: 401, read: 200, admin: 200 };

// ------------------------------------------------------------------------------------------------
// Agent: its own credential (which the controller presents to it) or the admin token (known to the
// agent by its SHA-256 only). Another agent's credential, even of the same shard, is refused.
const AGENT_OR_ADMIN = { default: 401, agent: 200, admin: 200 };
const AGENT_ROUTES: Record<string, Row> = {
  'GET /metrics': { path: '/metrics', expect: OPEN },
  'GET /healthz': { path: '/healthz', expect: OPEN },
  // Authorised callers get past the token to the body check: {} is not a document (400).
  'POST /v1/apply': { path: '/v1/apply', body: '{}', expect: { default: 401, agent: 400, admin: 400 } },
  'GET /v1/status': { path: '/v1/status', expect: AGENT_OR_ADMIN },
  'GET /v1/flags': { path: '/v1/flags', expect: AGENT_OR_ADMIN },
  'GET /v1/usage': { path: '/v1/usage', expect: AGENT_OR_ADMIN },
  'POST /v1/cardinality/analyze': { path: '/v1/cardinality/analyze', body: '{}', expect: AGENT_OR_ADMIN },
  // Prometheus is not running here: 200 with prometheusReachable false.
  'GET /v1/targets': { path: '/v1/targets?job=routers', expect: AGENT_OR_ADMIN },
};
// Forcing (applying an older revision) takes the admin token: the agent's own credential gets 403.
const AGENT_FORCE: Row = { path: '/v1/apply?force=true', body: '{}', expect: { default: 401, agent: 403, admin: 400 } };

// ------------------------------------------------------------------------------------------------
// Controller: admin (everything), read (GETs), agent credentials (the agent endpoints, for their own
// shard and replica only: 403 for another); the webhook takes an HMAC signature, never a bearer
// token; /metrics, /healthz and the dashboard's static assets are open. The scope check needs a
// well-formed body, so the register/report lines stop at the body check (400) for every credential:
// the scope of those two is in the next table.
const CONTROLLER_ROUTES: Record<string, Row> = {
  'GET /metrics': { path: '/metrics', expect: OPEN },
  'GET /healthz': { path: '/healthz', expect: OPEN },
  'POST /v1/webhook': { path: '/v1/webhook', body: '{}', expect: { default: 401 } },
  'POST /v1/agents/register': { path: '/v1/agents/register', body: '{}', expect: { default: 401, agent: 400, sibling: 400, stranger: 400, admin: 400 } },
  'POST /v1/agents/report': { path: '/v1/agents/report', body: '{}', expect: { default: 401, agent: 400, sibling: 400, stranger: 400, admin: 400 } },
  'GET /v1/agents/desired': { path: '/v1/agents/desired?shard=networking&replica=a', expect: { default: 401, agent: 200, sibling: 403, stranger: 403, admin: 200 } },
  'GET /v1/events/stream': { path: '/v1/events/stream', stream: true, expect: READERS },
  'GET /v1/repository': { path: '/v1/repository', expect: READERS },
  'GET /v1/shards': { path: '/v1/shards', expect: READERS },
  'GET /v1/shards/:name': { path: '/v1/shards/networking', expect: READERS },
  'GET /v1/shards/:name/document': { path: '/v1/shards/networking/document', expect: READERS },
  'GET /v1/teams': { path: '/v1/teams', expect: READERS },
  'GET /v1/teams/:team': { path: '/v1/teams/netops', expect: READERS },
  'GET /v1/flags': { path: '/v1/flags', expect: READERS },
  'GET /v1/series': { path: '/v1/series', expect: READERS },
  'GET /v1/reshards': { path: '/v1/reshards', expect: READERS },
  'GET /v1/agents': { path: '/v1/agents', expect: READERS },
  'GET /v1/events': { path: '/v1/events', expect: READERS },
  'GET /v1/revisions': { path: '/v1/revisions', expect: READERS },
  'GET /v1/leader': { path: '/v1/leader', expect: READERS },
  // Outside Kubernetes mode it still answers (discovery: off), under the same read auth.
  'GET /v1/kubernetes': { path: '/v1/kubernetes', expect: READERS },
  // The path gets the head's sha in `before` (the controller records the revision it starts on).
  'GET /v1/revisions/:sha': { path: '', expect: READERS },
  'POST /v1/sync': { path: '/v1/sync', body: '', expect: { default: 401, admin: 200 } },
  // Dashboard (central-controller/dashboard/auth.ts): the read or admin token, as a bearer token or a session cookie.
  'GET /dashboard/assets/:file': { path: '/dashboard/assets/dashboard.css', expect: OPEN },
  'GET /': { path: '/', expect: READERS },
  'GET /teams': { path: '/teams', expect: READERS },
  'GET /teams/:team': { path: '/teams/netops', expect: READERS },
  'GET /shards/:name': { path: '/shards/networking', expect: READERS },
  'GET /repository': { path: '/repository', expect: READERS },
  'GET /revisions/:sha': { path: '', expect: READERS },
  'GET /dashboard/events': { path: '/dashboard/events', stream: true, expect: READERS },
};

// The agent endpoints with well-formed bodies for networking/a (whose credential is "agent").
const AGENT_URL_OF_A = 'http://127.0.0.1:9/a';
const CONTROLLER_SCOPED: Record<string, Row> = {
  'POST /v1/agents/register': { path: '/v1/agents/register', body: `{"shard":"networking","replica":"a","url":"${AGENT_URL_OF_A}"}`, expect: { default: 401, agent: 200, sibling: 403, stranger: 403, admin: 200 } },
  // The body is completed in `before` with a real agent's status.
  'POST /v1/agents/report': { path: '/v1/agents/report', body: '', expect: { default: 401, agent: 200, sibling: 403, stranger: 403, admin: 200 } },
  // Callers allowed for networking/b get past the scope check to "no document for b yet" (404).
  'GET /v1/agents/desired': { path: '/v1/agents/desired?shard=networking&replica=b', expect: { default: 401, agent: 403, sibling: 404, stranger: 403, admin: 404 } },
};

async function call(base: string, method: string, row: Row, caller: Caller): Promise<number> {
  const token = tokenOf[caller];
  const headers: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(row.body !== undefined ? { 'content-type': 'application/json' } : {}) };
  if (row.stream) {
    const ac = new AbortController();
    const res = await fetch(base + row.path, { method, headers, signal: ac.signal });
    const status = res.status;
    ac.abort();
    await res.body?.cancel().catch(() => undefined);
    return status;
  }
  return (await fetchStatus(base + row.path, { method, headers, ...(row.body !== undefined ? { body: row.body } : {}) })).status;
}

function checkTable(routes: string[], table: Record<string, Row>, who: string): void {
  const listed = new Set(Object.keys(table));
  const missing = routes.filter((r) => !listed.has(r));
  const stale = [...listed].filter((r) => !routes.includes(r));
  assert.deepEqual(missing, [], `${who} routes with no line in the auth matrix (add one, saying who may call them)`);
  assert.deepEqual(stale, [], `${who} auth-matrix lines for routes that no longer exist`);
}

async function runMatrix(base: string, table: Record<string, Row>, callers: Caller[]): Promise<string[]> {
  const wrong: string[] = [];
  for (const [key, row] of Object.entries(table)) {
    const method = key.split(' ')[0];
    for (const caller of callers) {
      const want = row.expect[caller] ?? row.expect.default;
      const got = await call(base, method, row, caller);
      if (got !== want) wrong.push(`${key} as ${caller}: ${got}, expected ${want}`);
    }
  }
  return wrong;
}

describe('authentication matrix', () => {
  let dir: string;
  let repo: TestGitRepo;
  let agent: RunningAgent;
  let controller: RunningController;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-auth-matrix-'));
    repo = createGitRepo({
      'shards.yaml': 'defaults:\n  interval: 15s\n  timeout: 5s\nshards:\n  - name: networking\n    replicas: 1\n    budget: { max_series: 1000, max_targets: 10 }\n',
      'teams/netops/routers.yaml': 'team: netops\nshard: networking\njobs:\n  - name: routers\n    targets: ["127.0.0.1:9101"]\n',
    });
    // No Prometheus is needed to check who may call what: every authorised request stops at a body check or reads state.
    agent = await startAgent({ shard: 'networking', replica: 'a', prometheusUrl: 'http://127.0.0.1:9', configFile: join(dir, 'agent', 'prometheus.yml'), stateDir: join(dir, 'agent-state'), token: AGENT, adminTokenSha256: adminTokenDigest(ADMIN), promtool: null, defaultMetrics: false, probeIntervalMs: 60_000, logWrite: () => undefined });
    CONTROLLER_SCOPED['POST /v1/agents/report']!.body = JSON.stringify({ shard: 'networking', replica: 'a', url: AGENT_URL_OF_A, status: agent.status() });
    controller = await startController({ repo: repo.dir, stateDir: join(dir, 'controller'), token: ADMIN, readToken: READ, agentSecret: AGENT_SECRET, webhookSecret: 'matrix-webhook-secret', pollMs: 0, reconcileMs: 60_000, defaultMetrics: false, logWrite: () => undefined });
    const head = controller.state.repository.head!.sha;
    CONTROLLER_ROUTES['GET /v1/revisions/:sha']!.path = `/v1/revisions/${head}`;
    CONTROLLER_ROUTES['GET /revisions/:sha']!.path = `/revisions/${head}`;
  });
  after(async () => {
    await agent?.close();
    await controller?.close();
    repo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the agent router has exactly the routes of the agent table', () => {
    const app = createAgentApp({
      pipeline: {} as ApplyPipeline,
      tokens: () => [AGENT],
      maxBody: '1mb',
      metrics: createAgentMetrics({ defaultMetrics: false }),
      log: createLogger({ component: 'matrix', write: () => undefined }),
      status: () => {
        throw new Error('not called');
      },
    });
    checkTable(routesOf(app).map(routeKey), AGENT_ROUTES, 'agent');
  });

  it('the controller router has exactly the routes of the controller table', () => {
    checkTable(routesOf(controller.app).map(routeKey), CONTROLLER_ROUTES, 'controller');
  });

  it('agent: every route × {no token, wrong token, read token, own credential, sibling/stranger/forged credential, admin token}', async () => {
    const wrong = await runMatrix(agent.url, { ...AGENT_ROUTES, 'POST /v1/apply (force)': AGENT_FORCE }, CALLERS);
    assert.deepEqual(wrong, []);
  });

  it('controller: every route × {no token, wrong token, read token, own credential, sibling/stranger/forged credential, admin token}', async () => {
    const wrong = await runMatrix(controller.url, CONTROLLER_ROUTES, CALLERS);
    assert.deepEqual(wrong, []);
  });

  it('controller: the agent endpoints with real bodies answer 403 to a credential of another shard or replica', async () => {
    const wrong = await runMatrix(controller.url, CONTROLLER_SCOPED, CALLERS);
    assert.deepEqual(wrong, []);
  });
});
