// Who may call what: GETs take the read token or the admin token (or nothing with --open-read-access);
// mutating endpoints take the admin token; agent endpoints take the admin token, an agent's own
// credential (derived from --agent-secret-file, scoped to one shard and replica), or in the legacy
// shared mode the one fleet-wide agent token. See docs/operations.md, "Trust model".
import type { NextFunction, Request, Response } from 'express';
import { verifyAgentToken, type AgentScope } from '../../core/http/agent-credential.ts';
import { bearerTokenOf, requireBearerToken, secretsEqual } from '../../core/http/auth.ts';

export interface Tokens {
  admin: string;
  read?: string;
  /** Per-agent mode: the secret agents' credentials are derived from (core/http/agent-credential.ts). */
  agentSecret?: string;
  /**
   * Legacy shared mode (insecure, only without `agentSecret`): one token every agent presents to the
   * controller and the controller presents to every agent.
   */
  agent?: string;
}

/** Who called an agent endpoint: the admin, the legacy shared token (any scope), or one agent. */
export type AgentCaller = { kind: 'admin' } | { kind: 'shared' } | ({ kind: 'agent' } & AgentScope);

const CALLER = 'promshardAgentCaller';

export function authGuards(tokens: () => Tokens, openReadAccess: boolean) {
  const admin = requireBearerToken(() => [tokens().admin]);
  const readCheck = requireBearerToken(() => [tokens().admin, tokens().read].filter((t): t is string => !!t));
  const read = openReadAccess ? (_req: Request, _res: Response, next: NextFunction) => next() : readCheck;
  const agent = (req: Request, res: Response, next: NextFunction) => {
    const caller = agentCallerOf(bearerTokenOf(req), tokens());
    if (!caller) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="promshard"');
      res.status(401).json({ error: 'unauthorized: missing or wrong bearer token' });
      return;
    }
    res.locals[CALLER] = caller;
    next();
  };
  return { admin, read, agent };
}

function agentCallerOf(given: string | undefined, t: Tokens): AgentCaller | null {
  if (given === undefined) return null;
  if (secretsEqual(given, t.admin)) return { kind: 'admin' };
  if (t.agentSecret) {
    const scope = verifyAgentToken(given, t.agentSecret);
    return scope ? { kind: 'agent', ...scope } : null;
  }
  if (t.agent && secretsEqual(given, t.agent)) return { kind: 'shared' };
  return null;
}

/**
 * Why the caller of an agent endpoint may not act for `shard`/`replica` (answer 403 with it), or
 * undefined when it may. Only an agent's own credential is scoped; the admin token and the legacy
 * shared token act for any replica.
 */
export function scopeRefusal(res: Response, shard: string, replica: string): string | undefined {
  const caller = res.locals[CALLER] as AgentCaller | undefined;
  if (!caller) return 'no authenticated agent caller';
  if (caller.kind !== 'agent' || (caller.shard === shard && caller.replica === replica)) return undefined;
  return `forbidden: this credential belongs to shard "${caller.shard}" replica "${caller.replica}" and may not act for shard "${shard}" replica "${replica}"`;
}
