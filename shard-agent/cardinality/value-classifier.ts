// Classifies label values by shape: identifiers (uuid, ulid, long hex, long numeric ids, timestamps,
// e-mail addresses, URL paths with id segments) and weaker hints (IP addresses, very long strings).
import type { ValuePattern } from '../../core/protocol/cardinality-flag.ts';
import { idPositions, isPathLike } from './path-normalisation.ts';

/** Patterns that on their own mean "this label carries identifiers". */
export const STRONG_PATTERNS: ReadonlySet<ValuePattern> = new Set<ValuePattern>([
  'uuid',
  'ulid',
  'hex',
  'numeric-id',
  'timestamp',
  'email',
  'url-path-id',
]);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const HEX = /^(?:0x)?[0-9a-f]{12,}$/i;
const DIGITS = /^\d+$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
const EMAIL = /^[^\s@/]+@[^\s@/]+\.[a-z]{2,}$/i;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?::\d{1,5})?$/;
const IPV6 = /^\[?(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d{1,5})?$/i;

export const LONG_STRING_CHARS = 64;

function isUnixTimestamp(v: string): boolean {
  // seconds 2001..2033 (10 digits), milliseconds (13), microseconds (16), nanoseconds (19).
  return /^1\d{9}(?:\d{3}){0,3}$/.test(v) && [10, 13, 16, 19].includes(v.length);
}

/** Number of path segments that are identifiers (0 when `v` is not a path). */
export function idSegments(v: string): number {
  return isPathLike(v) ? idPositions(v).length : 0;
}

/** The pattern a value matches, most specific first; null for ordinary values. */
export function classifyValue(v: string): ValuePattern | null {
  if (v === '') return null;
  if (UUID.test(v)) return 'uuid';
  if (DIGITS.test(v)) {
    if (isUnixTimestamp(v)) return 'timestamp';
    return v.length >= 5 ? 'numeric-id' : null;
  }
  if (ULID.test(v) && /\d/.test(v)) return 'ulid';
  if (HEX.test(v) && /\d/.test(v)) return 'hex';
  if (ISO_TIME.test(v)) return 'timestamp';
  if (EMAIL.test(v)) return 'email';
  if (IPV4.test(v) || (v.includes(':') && IPV6.test(v) && /[0-9a-f]/i.test(v))) return 'ip';
  if (idSegments(v) > 0) return 'url-path-id';
  if (v.length > LONG_STRING_CHARS) return 'long-string';
  return null;
}

export interface SampleClassification {
  /** The most frequent pattern (strong patterns win ties), null when no value matched any. */
  pattern: ValuePattern | null;
  /** Share of the sample matching `pattern`. */
  share: number;
  /** Share of the sample matching any strong (identifier) pattern. */
  idShare: number;
  counts: Partial<Record<ValuePattern, number>>;
  size: number;
  /** Most id segments seen in one value (for URL paths). */
  maxIdSegments: number;
}

export function classifySample(values: readonly string[]): SampleClassification {
  const counts: Partial<Record<ValuePattern, number>> = {};
  let ids = 0;
  let maxIdSegments = 0;
  for (const v of values) {
    const p = classifyValue(v);
    if (!p) continue;
    counts[p] = (counts[p] ?? 0) + 1;
    if (STRONG_PATTERNS.has(p)) ids++;
    if (p === 'url-path-id') maxIdSegments = Math.max(maxIdSegments, idSegments(v));
  }
  let pattern: ValuePattern | null = null;
  let best = 0;
  for (const [p, n] of Object.entries(counts) as [ValuePattern, number][]) {
    if (n > best || (n === best && STRONG_PATTERNS.has(p) && pattern && !STRONG_PATTERNS.has(pattern))) {
      pattern = p;
      best = n;
    }
  }
  const size = values.length;
  return { pattern, share: size ? best / size : 0, idShare: size ? ids / size : 0, counts, size, maxIdSegments };
}

/** Truncates an example value to `max` characters (an ellipsis marks the cut). */
export function truncateExample(v: string, max = 64): string {
  return v.length <= max ? v : v.slice(0, max - 1) + '…';
}
