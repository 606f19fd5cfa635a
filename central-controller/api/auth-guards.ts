// Who may call what: GETs take the read token or the admin token (or nothing with --open-read-access);
// mutating endpoints take the admin token; agent endpoints take the admin token or the agent token.
import type { NextFunction, Request, Response } from 'express';
import { requireBearerToken } from '../../core/http/auth.ts';

export interface Tokens {
  admin: string;
  read?: string;
  /** Token agents present to the controller (and the controller presents to agents). */
  agent?: string;
}

export function authGuards(tokens: () => Tokens, openReadAccess: boolean) {
  const admin = requireBearerToken(() => [tokens().admin]);
  const readCheck = requireBearerToken(() => [tokens().admin, tokens().read].filter((t): t is string => !!t));
  const read = openReadAccess ? (_req: Request, _res: Response, next: NextFunction) => next() : readCheck;
  const agent = requireBearerToken(() => [tokens().admin, tokens().agent].filter((t): t is string => !!t));
  return { admin, read, agent };
}
