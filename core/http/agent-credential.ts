// Per-agent credentials. Each agent's token is derived from a controller secret and names the one
// shard and replica it may act for:
//
//   psa1.<base64url(shard)>.<base64url(replica)>.<base64url(HMAC-SHA256(secret, "promshard-agent-credential-v1\n" + the part before the MAC))>
//
// The scope travels in the token, so the controller checks a token with the secret alone (no list of
// issued tokens to keep in step) and can tell "wrong token" (401) from "right token, other replica"
// (403). base64url never contains ".", so the encoding is unambiguous whatever the names hold; the
// version prefix lets a future format coexist. An agent needs no secret: it compares what callers
// present with its own token, and the controller presents exactly that token to it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { secretsEqual } from './auth.ts';
import { unitName } from '../document/split-name.ts';

export interface AgentScope {
  shard: string;
  replica: string;
}

/** Shard and replica names as agents register them: letters, digits, `.`, `_`, `-`. */
export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const VERSION = 'psa1';
const MAC_CONTEXT = 'promshard-agent-credential-v1\n';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

function macOf(secret: string, scopePart: string): string {
  return createHmac('sha256', secret).update(MAC_CONTEXT + scopePart).digest('base64url');
}

/**
 * The credential of one replica. Stable: the same secret, shard and replica always give the same token.
 * A replica of a split is scoped to the split's document name (`<shard>.s<i>`, core/document/split-name.ts),
 * so its credential is refused for every other split; an unsplit shard's credentials are unchanged.
 */
export function deriveAgentToken(secret: string, given: AgentScope & { split?: number }): string {
  const scope = { shard: unitName(given.shard, given.split), replica: given.replica };
  if (!AGENT_NAME.test(scope.shard)) throw new Error(`shard "${scope.shard}" is not a name of letters, digits, . _ - (at most 128)`);
  if (!AGENT_NAME.test(scope.replica)) throw new Error(`replica "${scope.replica}" is not a name of letters, digits, . _ - (at most 128)`);
  const scopePart = `${VERSION}.${b64(scope.shard)}.${b64(scope.replica)}`;
  return `${scopePart}.${macOf(secret, scopePart)}`;
}

/** The scope a token was issued for, or null when it is not a credential made with `secret`. */
export function verifyAgentToken(token: string, secret: string): AgentScope | null {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || token.length > 1024) return null;
  const scopePart = parts.slice(0, 3).join('.');
  if (!secretsEqual(parts[3]!, macOf(secret, scopePart))) return null;
  const shard = Buffer.from(parts[1]!, 'base64url').toString('utf8');
  const replica = Buffer.from(parts[2]!, 'base64url').toString('utf8');
  // Re-encoding must give the same text: refuses non-canonical base64 that decodes to the same name.
  if (b64(shard) !== parts[1] || b64(replica) !== parts[2]) return null;
  return { shard, replica };
}

/** Hex SHA-256 of the admin token: what an agent holds to recognise the admin without holding the token. */
export function adminTokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** True when sha256(given) equals `hexDigest` (constant time). */
export function matchesDigest(given: string, hexDigest: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = Buffer.from(hexDigest, 'hex');
  return b.length === a.length && timingSafeEqual(a, b);
}

/**
 * Reads an admin-token digest file: 64 hex digits, optionally followed by what `sha256sum` prints
 * after them (two spaces and a file name).
 */
export function readDigestFile(path: string): string {
  const text = readFileSync(path, 'utf8');
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^[0-9a-fA-F]{64}$/.test(first)) throw new Error(`${path}:1:1: expected the hex SHA-256 of the admin token (64 hex digits), as printed by \`promshard agent-token --admin-digest --token-file FILE\``);
  return first.toLowerCase();
}
