// A short, stable handle for a cardinality flag, for places where the flag's own id
// (`shard/job/metric/label`) does not fit: a git branch name (job and metric names may hold `:`, which
// git refuses in a ref), a URL path segment, a command line. It is a hash of the id, so it stays the
// same across analysis cycles and controllers, and the id remains the one source of truth.
import { createHash } from 'node:crypto';

export const FLAG_KEY_LENGTH = 12;

export function flagKey(flagId: string): string {
  return createHash('sha256').update(flagId).digest('hex').slice(0, FLAG_KEY_LENGTH);
}

/** The branch a flag's fix is pushed to: one per flag, so a second run finds the first one's work. */
export function fixBranch(flagId: string): string {
  return `promshard/fix-${flagKey(flagId)}`;
}

/** True when `given` names the flag, by its id or by its key. */
export function flagMatches(flagId: string, given: string): boolean {
  return given === flagId || given.toLowerCase() === flagKey(flagId);
}
