// A small deterministic YAML emitter for rendered Prometheus configurations. The general-purpose
// `yaml` stringifier costs ~0.3 ms per job, which dominates rendering a 200-shard fleet; this one
// handles exactly what a configuration holds (maps, lists, strings, numbers, booleans).

// Strings that can stay unquoted: no YAML indicators, not mistakable for another type.
const PLAIN_SAFE = /^(?:[A-Za-z0-9_./+]|-(?! |$))[A-Za-z0-9_./@+:, -]*$/;
const NON_STRING_LOOKALIKE = /^(?:~|null|true|false|yes|no|on|off|y|n|[-+]?(?:\d[\d_]*)?(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|nan)|0x[0-9a-fA-F]+|0o[0-7]+)$/i;

export function yamlScalar(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  const s = String(value);
  if (s !== '' && PLAIN_SAFE.test(s) && !NON_STRING_LOOKALIKE.test(s) && !s.endsWith(' ') && !s.includes(': ') && !s.includes(' #') && !s.endsWith(':')) return s;
  // JSON string escapes are valid in YAML double-quoted scalars.
  return JSON.stringify(s);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmptyCollection(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);
}

/** Emits `value` as block YAML at the given indentation; returns lines without a trailing newline. */
export function emitYaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isPlainObject(item) && Object.keys(item).length > 0) {
        const inner = emitYaml(item, indent + 2);
        lines.push(pad + '- ' + inner.slice(indent + 2));
      } else if (Array.isArray(item) && item.length > 0) {
        lines.push(pad + '-');
        lines.push(emitYaml(item, indent + 2));
      } else {
        lines.push(pad + '- ' + (isEmptyCollection(item) ? (Array.isArray(item) ? '[]' : '{}') : yamlScalar(item)));
      }
    }
    return lines.join('\n');
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const key = yamlScalar(k);
      if (isEmptyCollection(v)) lines.push(`${pad}${key}: ${Array.isArray(v) ? '[]' : '{}'}`);
      else if (Array.isArray(v)) lines.push(`${pad}${key}:`, emitYaml(v, indent + 2));
      else if (isPlainObject(v)) lines.push(`${pad}${key}:`, emitYaml(v, indent + 2));
      else lines.push(`${pad}${key}: ${yamlScalar(v)}`);
    }
    return lines.join('\n');
  }
  return pad + yamlScalar(value);
}
