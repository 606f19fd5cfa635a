// Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. The API server refuses a Lease or
// Event time with JavaScript's three (`Date.toISOString()`), so every time we send goes through here.

/** `2026-11-29T16:10:00.123000Z` for the given time (JavaScript keeps milliseconds: the last three digits are 0). */
export function formatMicroTime(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  return `${d.toISOString().slice(0, -1)}000Z`;
}

/** metav1.Time (an Event's first/lastTimestamp, a creationTimestamp): RFC 3339, whole seconds. */
export function formatKubeTime(at: Date | number): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Reads a MicroTime (or Time) the API sent back, as milliseconds since the epoch; null when absent or unreadable. */
export function parseKubeTime(v: unknown): number | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.getTime();
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}
