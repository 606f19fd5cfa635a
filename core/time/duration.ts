// Prometheus duration strings (`1h30m`, `15s`, `500ms`), parsed the way Prometheus's model.ParseDuration does.

const UNIT_MS: Record<string, number> = { y: 365 * 86400e3, w: 7 * 86400e3, d: 86400e3, h: 3600e3, m: 60e3, s: 1e3, ms: 1 };
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Milliseconds, or undefined when the string is not a valid Prometheus duration. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '' ) return undefined;
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (let i = 0; i < UNITS.length; i++) if (m[i + 1] !== undefined) total += Number(m[i + 1]) * UNIT_MS[UNITS[i]];
  return total;
}

/** Parses durations given on the command line (`30s`, `500ms`), throwing a usage-friendly error. */
export function requireDurationMs(text: string, what: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new Error(`${what}: "${text}" is not a duration such as 500ms, 30s or 5m`);
  return ms;
}
