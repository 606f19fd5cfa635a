// HTTP calls from the controller to one agent: push a document, read its status and its flags.
// Transport problems (refused connection, timeout, 5xx without an apply result) are `AgentUnreachable`;
// an answer from the agent's apply pipeline is returned as is, whatever its status code.
import { DeadlineExceeded, fetchWithDeadline } from '../core/http/fetch-with-deadline.ts';
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { AgentStatus, ApplyResponse } from '../core/protocol/agent-api.ts';
import type { CardinalityFlag } from '../core/protocol/cardinality-flag.ts';
import type { AgentScope } from '../core/http/agent-credential.ts';

export class AgentUnreachable extends Error {}

/** One agent as the controller calls it: where, and who (the credential presented is that replica's own). */
export interface AgentTarget extends AgentScope {
  url: string;
}

export interface PushAnswer {
  httpStatus: number;
  body: ApplyResponse;
}

const RESULTS = new Set(['applied', 'unchanged', 'written-unverified', 'rolled-back', 'rejected', 'superseded']);

export class AgentClient {
  constructor(
    /** The credential presented to this agent: its own (per-agent mode) or the shared one (legacy). */
    private readonly token: (agent: AgentScope) => string,
    private readonly timeoutMs: number,
    /** Aborts every call in flight (controller shutdown). */
    private readonly signal?: AbortSignal,
  ) {}

  private async call(agent: AgentTarget, path: string, init: RequestInit, timeoutMs = this.timeoutMs): Promise<Response> {
    try {
      return await fetchWithDeadline(`${agent.url}${path}`, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${this.token(agent)}` } }, timeoutMs, this.signal);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new AgentUnreachable(err instanceof DeadlineExceeded ? e.message : (e.cause?.code ?? e.message));
    }
  }

  async push(agent: AgentTarget, doc: DesiredDocument, timeoutMs = this.timeoutMs): Promise<PushAnswer> {
    const res = await this.call(agent, '/v1/apply', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(doc) }, timeoutMs);
    let body: unknown;
    try {
      body = await res.json();
    } catch (err) {
      throw new AgentUnreachable(`agent answered ${res.status} without a JSON body${(err as Error).name === 'TimeoutError' ? ' (timeout)' : ''}`);
    }
    const result = (body as { result?: unknown })?.result;
    if (typeof result !== 'string' || !RESULTS.has(result)) {
      const error = (body as { error?: unknown })?.error;
      if (res.status === 401 || res.status === 403) throw new AgentUnreachable(`agent refused our token (${res.status})`);
      throw new AgentUnreachable(`agent answered ${res.status}${typeof error === 'string' ? `: ${error}` : ''}`);
    }
    return { httpStatus: res.status, body: body as ApplyResponse };
  }

  async status(agent: AgentTarget, timeoutMs = this.timeoutMs): Promise<AgentStatus> {
    const res = await this.call(agent, '/v1/status', { method: 'GET' }, timeoutMs);
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw new AgentUnreachable(`agent answered ${res.status} to GET /v1/status`);
    }
    return (await res.json()) as AgentStatus;
  }

  async flags(agent: AgentTarget, timeoutMs = this.timeoutMs): Promise<CardinalityFlag[]> {
    const res = await this.call(agent, '/v1/flags', { method: 'GET' }, timeoutMs);
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw new AgentUnreachable(`agent answered ${res.status} to GET /v1/flags`);
    }
    const body = (await res.json()) as { flags?: unknown };
    return Array.isArray(body.flags) ? (body.flags as CardinalityFlag[]) : [];
  }

  /** Per-job series and targets from the agent's last cardinality cycle. */
  async usage(agent: AgentTarget, timeoutMs = this.timeoutMs): Promise<AgentUsage> {
    const res = await this.call(agent, '/v1/usage', { method: 'GET' }, timeoutMs);
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw new AgentUnreachable(`agent answered ${res.status} to GET /v1/usage`);
    }
    const body = (await res.json()) as Partial<AgentUsage>;
    return {
      measuredAt: typeof body.measuredAt === 'string' ? body.measuredAt : null,
      headSeries: typeof body.headSeries === 'number' ? body.headSeries : null,
      jobs: Array.isArray(body.jobs) ? body.jobs.filter((j) => j && typeof j.job === 'string' && typeof j.series === 'number' && typeof j.targets === 'number') : [],
    };
  }
}

export interface AgentUsage {
  measuredAt: string | null;
  headSeries: number | null;
  jobs: { job: string; series: number; targets: number }[];
}
