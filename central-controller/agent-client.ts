// HTTP calls from the controller to one agent: push a document, read its status, flags and usage.
// Transport problems (refused connection, timeout, 5xx without an apply result) are `AgentUnreachable`.
// Every answer is checked against its protocol schema before anything uses it: one that does not fit
// (or is too large) is an `AgentProtocolError`, and none of it is returned.
import { BodyTooLarge, DeadlineExceeded, requestWithDeadline, type BufferedAnswer } from '../core/http/fetch-with-deadline.ts';
import type { DesiredDocument } from '../core/document/desired-document.ts';
import type { AgentStatus, AgentTargets, AgentUsage, ApplyResponse } from '../core/protocol/agent-api.ts';
import { validateProtocol, type ProtocolMessages } from '../core/protocol/protocol-validator.ts';
import { MAX_ANSWER_BYTES } from '../core/protocol/schemas.ts';
import type { CardinalityFlag } from '../core/protocol/cardinality-flag.ts';
import type { AgentScope } from '../core/http/agent-credential.ts';

export class AgentUnreachable extends Error {}

/**
 * The agent answered, but not in the protocol (core/protocol/schemas.ts): wrong shape, wrong types,
 * not JSON, or too large. Nothing of the answer may be used; the caller marks the agent faulty.
 */
export class AgentProtocolError extends Error {
  constructor(
    readonly endpoint: AgentEndpoint,
    readonly reason: string,
  ) {
    super(`agent answered ${endpoint} outside the protocol: ${reason}`);
  }
}

/** What an agent can get wrong: its answers, and the bodies it sends the controller. */
export type AgentEndpoint = 'apply' | 'status' | 'flags' | 'usage' | 'targets' | 'register' | 'report';

/** One agent as the controller calls it: where, and who (the credential presented is that replica's own). */
export interface AgentTarget extends AgentScope {
  url: string;
}

export interface PushAnswer {
  httpStatus: number;
  body: ApplyResponse;
}

export class AgentClient {
  constructor(
    /** The credential presented to this agent: its own (per-agent mode) or the shared one (legacy). */
    private readonly token: (agent: AgentScope) => string,
    private readonly timeoutMs: number,
    /** Aborts every call in flight (controller shutdown). */
    private readonly signal?: AbortSignal,
  ) {}

  /** `term`: the leader's term stamped on the document (Kubernetes mode; 0 leaves it out). */
  async push(agent: AgentTarget, doc: DesiredDocument, timeoutMs = this.timeoutMs, term = 0): Promise<PushAnswer> {
    const res = await this.read(agent, 'apply', '/v1/apply', { method: 'POST', headers: { 'content-type': 'application/json' }, body: serialized(doc, term) }, timeoutMs);
    let body: unknown;
    try {
      body = res.json();
    } catch {
      // A proxy's error page is a transport problem; a 2xx that is not JSON is the agent's fault.
      if (res.ok) throw new AgentProtocolError('apply', `answered ${res.status} with a body that is not JSON`);
      throw new AgentUnreachable(`agent answered ${res.status} without a JSON body`);
    }
    const hasResult = typeof body === 'object' && body !== null && 'result' in body;
    if (!hasResult && !res.ok) {
      const error = (body as { error?: unknown } | null)?.error;
      if (res.status === 401 || res.status === 403) throw new AgentUnreachable(`agent refused our token (${res.status})`);
      throw new AgentUnreachable(`agent answered ${res.status}${typeof error === 'string' ? `: ${error.slice(0, 300)}` : ''}`);
    }
    return { httpStatus: res.status, body: checked('apply', body) };
  }

  async status(agent: AgentTarget, timeoutMs = this.timeoutMs): Promise<AgentStatus> {
    return checked('status', await this.getJson(agent, 'status', '/v1/status', timeoutMs));
  }

  async flags(agent: AgentTarget, timeoutMs = this.timeoutMs): Promise<CardinalityFlag[]> {
    return checked('flags', await this.getJson(agent, 'flags', '/v1/flags', timeoutMs)).flags;
  }

  /** Per-job series and targets from the agent's last cardinality cycle. */
  async usage(agent: AgentTarget, timeoutMs = this.timeoutMs): Promise<AgentUsage> {
    return checked('usage', await this.getJson(agent, 'usage', '/v1/usage', timeoutMs));
  }

  /** The agent's Prometheus's active targets of these jobs (per-revision target health). */
  async targets(agent: AgentTarget, jobs: readonly string[], timeoutMs = this.timeoutMs): Promise<AgentTargets> {
    const query = jobs.map((j) => `job=${encodeURIComponent(j)}`).join('&');
    return checked('targets', await this.getJson(agent, 'targets', `/v1/targets?${query}`, timeoutMs));
  }

  /** A call whose answer body is bounded: past the bound, the answer is the agent's fault; no answer is `AgentUnreachable`. */
  private async read(agent: AgentTarget, endpoint: keyof typeof MAX_ANSWER_BYTES, path: string, init: CallInit, timeoutMs: number): Promise<BufferedAnswer> {
    try {
      return await requestWithDeadline(`${agent.url}${path}`, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${this.token(agent)}` } }, timeoutMs, this.signal, MAX_ANSWER_BYTES[endpoint]);
    } catch (err) {
      if (err instanceof BodyTooLarge) throw new AgentProtocolError(endpoint, err.message);
      const e = err as Error & { code?: string; cause?: { code?: string } };
      throw new AgentUnreachable(err instanceof DeadlineExceeded ? e.message : (e.code ?? e.cause?.code ?? e.message), { cause: err });
    }
  }

  private async getJson(agent: AgentTarget, endpoint: 'status' | 'flags' | 'usage' | 'targets', path: string, timeoutMs: number): Promise<unknown> {
    const res = await this.read(agent, endpoint, path, { method: 'GET' }, timeoutMs);
    if (!res.ok) throw new AgentUnreachable(`agent answered ${res.status} to GET ${path}`);
    try {
      return res.json();
    } catch {
      throw new AgentProtocolError(endpoint, `answered ${res.status} with a body that is not JSON`);
    }
  }
}

interface CallInit {
  method: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

// A wave sends the same document to every replica of a shard, and again to a replica not yet fenced
// at a new term: it is serialized once per document and term, not once per push.
const bodies = new WeakMap<DesiredDocument, { term: number; body: Buffer }>();

function serialized(doc: DesiredDocument, term: number): Buffer {
  const hit = bodies.get(doc);
  if (hit && hit.term === term) return hit.body;
  const body = Buffer.from(JSON.stringify(term > 0 ? { ...doc, term } : doc), 'utf8');
  bodies.set(doc, { term, body });
  return body;
}

function checked<K extends 'apply' | 'status' | 'flags' | 'usage' | 'targets'>(endpoint: K, body: unknown): ProtocolMessages[K] {
  const v = validateProtocol(endpoint, body);
  if (!v.ok) throw new AgentProtocolError(endpoint, v.error);
  return v.value;
}
