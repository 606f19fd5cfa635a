// Rewrites for URL-like label values (`/api/users/48213/orders/99812`, `https://h/x/<uuid>?page=2`):
// every identifier segment becomes `:id`, and the query string and fragment go.
//
// A Prometheus `replace` rule matches once, so one rule cannot rewrite an unknown number of ids.
// The rules are therefore positional: one per path position where any current value has an id
// (`((?:/[^/?#]*){p-1}/)(?:ID)([/?#].*)?` → `${1}:id${2}`; URLs get their own, anchored after the host). Each rule is idempotent (`:id` is not an id),
// so applying the list again changes nothing, the same rule is never needed twice, and a rule the job
// already has can simply be left out. The positions come from all of the label's current values, not
// from a sample, and the result is checked by simulating the rules on those values.
import type { RelabelConfig } from '../../schemas/model.ts';

/**
 * An identifier path segment, in RE2 syntax (the same text is used in the suggested rules and, as a
 * JavaScript RegExp, by the value classifier; it uses no construct whose meaning differs between them):
 *   numbers of any length; hex of 6+ characters (hashes, object ids; a 6-letter word made only of a-f
 *   such as `facade` is the accepted cost); anything with a run of 4+ digits
 *   (`order-48213`, `48213.json`, dates, timestamps); tokens of [A-Za-z0-9_-] with a digit and at least
 *   10 more characters on one side (uuid, ulid, ksuid, nanoid, base64url); anything with an `@` (e-mail).
 */
export const ID_SEGMENT_RE2 =
  '[0-9]+|[0-9a-fA-F]{6,}|[^/?#]*[0-9]{4,}[^/?#]*|[\\w-]*[0-9][\\w-]{10,}|[\\w-]{10,}[0-9][\\w-]*|[^/?#]*@[^/?#]*';
const ID_SEGMENT = new RegExp(`^(?:${ID_SEGMENT_RE2})$`);

/** Strips `?query` and `#fragment`: parameters are unbounded and are not part of a route. */
export const QUERY_REGEX = '([^?#]*)[?#].*';
/** At most this many positional rules; ids beyond them stay and show in the residual. */
export const MAX_PATH_RULES = 12;

export function isIdSegment(segment: string): boolean {
  return segment !== '' && ID_SEGMENT.test(segment);
}

const URL_PREFIX = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A value that is a path (`/…`) or an absolute URL (`scheme://…`). */
export function isPathLike(v: string): boolean {
  return v.startsWith('/') || URL_PREFIX.test(v);
}

/**
 * Positions (number of `/`-terminated segments before it) of the id segments of a value; the query
 * string is not a segment, and neither is a URL's `scheme:`, `` or host (a `host:8080` is not an id).
 */
export function idPositions(v: string): number[] {
  const path = v.split(/[?#]/, 1)[0] ?? '';
  const first = URL_PREFIX.test(v) ? 3 : 1;
  const out: number[] = [];
  path.split('/').forEach((seg, i) => {
    if (i >= first && isIdSegment(seg)) out.push(i);
  });
  return out;
}

export type PathKind = 'path' | 'url';

/**
 * The rule's regex for an id at `position` of a path (`/a/b/<id>`: 3) or of a URL
 * (`https://h/a/<id>`: 4). Each is anchored at its kind's start, so a path rule never touches a URL's
 * host and a URL rule never touches a path.
 */
export function positionalRegex(kind: PathKind, position: number): string {
  const prefix = kind === 'path' ? `(?:/[^/?#]*){${position - 1}}/` : `[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*(?:/[^/?#]*){${position - 3}}/`;
  return `(${prefix})(?:${ID_SEGMENT_RE2})([/?#].*)?`;
}

export interface PathRulesPlan {
  rules: RelabelConfig[];
  /** Values with a query string or fragment. */
  withQuery: number;
  /** Id positions found, most frequent first, and how many values have an id there. */
  positions: { kind: PathKind; position: number; values: number }[];
  /** Positions left out (over MAX_PATH_RULES). */
  positionsLeftOut: number;
}

/** The rules that normalise `label` for these values (the query rule first, then positions in order). */
export function planPathRules(label: string, values: readonly string[]): PathRulesPlan {
  let withQuery = 0;
  const counts = new Map<string, { kind: PathKind; position: number; values: number }>();
  for (const v of values) {
    if (!isPathLike(v)) continue;
    if (/[?#]/.test(v)) withQuery++;
    const kind: PathKind = v.startsWith('/') ? 'path' : 'url';
    for (const position of idPositions(v)) {
      const key = `${kind}/${position}`;
      const c = counts.get(key);
      if (c) c.values++;
      else counts.set(key, { kind, position, values: 1 });
    }
  }
  const positions = [...counts.values()].sort((a, b) => b.values - a.values || a.position - b.position);
  const kept = positions.slice(0, MAX_PATH_RULES).sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.position - b.position));
  const rules: RelabelConfig[] = [];
  if (withQuery) rules.push({ source_labels: [label], regex: QUERY_REGEX, target_label: label, replacement: '${1}', action: 'replace' });
  for (const { kind, position } of kept)
    rules.push({ source_labels: [label], regex: positionalRegex(kind, position), target_label: label, replacement: '${1}:id${2}', action: 'replace' });
  return { rules, withQuery, positions, positionsLeftOut: Math.max(0, positions.length - MAX_PATH_RULES) };
}
