// Where a team's credential and TLS files may live: under `<secrets_root>/<team>/` on the Prometheus
// hosts. Prometheus reads whatever file a scrape config names and sends its content to that job's
// targets, so a path into another team's directory would hand that team's secret to a target of the
// first team's choosing. The compiler (for the model) and the credential-path rule share this module
// so that the root CI checks against is the root the controller records.
import { BUILTIN_DEFAULTS } from './effective-settings.ts';

export type PathCheck =
  | { ok: true; normalised: string }
  | { ok: false; reason: 'relative' | 'dot-dot' | 'root' | 'outside' | 'team-dir'; normalised?: string };

/**
 * Lexical normal form of an absolute posix path: `//` and `.` segments and trailing slashes removed.
 * `..` is refused rather than resolved: the kernel resolves `..` after following symbolic links, so
 * `<root>/a/link/../x` can land anywhere `link` points to while the text seems to stay inside `a`.
 */
export function normaliseAbsolutePath(path: string): PathCheck {
  if (!path.startsWith('/')) return { ok: false, reason: 'relative' };
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { ok: false, reason: 'dot-dot' };
  const normalised = '/' + segments.join('/');
  return normalised === '/' ? { ok: false, reason: 'root', normalised } : { ok: true, normalised };
}

/** The fleet's secrets root from shards.yaml's `secrets_root` (untrusted), normalised; the default when unset. */
export function secretsRootOf(value: unknown): PathCheck {
  return normaliseAbsolutePath(typeof value === 'string' ? value : BUILTIN_DEFAULTS.secrets_root);
}

/** A team folder name usable as one path segment under the root. */
export function isTeamSegment(team: string): boolean {
  return team !== '' && team !== '.' && team !== '..' && !team.includes('/') && !team.includes('\0');
}

/**
 * Whether `path` names a file strictly inside `teamDir` (already normalised, no trailing slash).
 * Compared segment by segment, so `<root>/teamA` is not a prefix of `<root>/teamAB/x`.
 */
export function checkTeamFilePath(path: string, teamDir: string): PathCheck {
  const n = normaliseAbsolutePath(path);
  if (!n.ok) return n;
  if (n.normalised === teamDir) return { ok: false, reason: 'team-dir', normalised: n.normalised };
  if (!n.normalised.startsWith(teamDir + '/')) return { ok: false, reason: 'outside', normalised: n.normalised };
  return n;
}
