// A small deterministic YAML emitter for rendered Prometheus configurations. The general-purpose
// `yaml` stringifier costs ~0.3 ms per job, which dominates rendering a 200-shard fleet; this one
// handles exactly what a configuration holds (maps, lists, strings, numbers, booleans).
//
// Injection-proof by construction: a string is written plain only when it matches a small allow-list
// that no YAML 1.1 or 1.2 parser reads as anything but that same string; everything else is written
// double-quoted with every character outside printable ASCII escaped (\uXXXX, \UXXXXXXXX: both
// YAML versions and Go's yaml.v2 read them). So no byte of a rendered string is a line break, an
// indicator or a quote that could end the scalar, whatever the repository holds. Keys go through the
// same function.

// Plain only from a letter, `_` or `/` (never a number, date, `.inf`, `-` or an indicator), then
// letters, digits and `_ . / : -` — no spaces, so never `: ` or ` #`.
const PLAIN_WORD = /^[A-Za-z_/][A-Za-z0-9_./:-]*$/;
// Durations (`30s`, `1m30s`) start with a digit but no YAML version reads them as a number.
const PLAIN_DURATION = /^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$/;
// Words YAML 1.1 (Go's yaml.v2) resolves to booleans or null, and bare exponents (`e0`), which the
// `yaml` package's 1.1 schema reads as a float.
const KEYWORD = /^(?:y|n|yes|no|on|off|true|false|null|[eE][-+]?[0-9]+)$/i;

export function isPlainSafe(s: string): boolean {
  return (PLAIN_DURATION.test(s) || (PLAIN_WORD.test(s) && !s.endsWith(':') && !KEYWORD.test(s)));
}

/** `s` as a YAML double-quoted scalar whose bytes are printable ASCII only. */
export function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate has no UTF-8 form: yaml.v2 refuses its escape, so the config would not load.
      // The unsafe-characters rule refuses it first; this guards callers that skip the rules.
      throw new Error(`cannot render a lone surrogate (U+${cp.toString(16).toUpperCase()}) in ${JSON.stringify(s.slice(0, 40))}`);
    } else if (cp <= 0xffff) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else out += '\\U' + cp.toString(16).toUpperCase().padStart(8, '0');
  }
  return out + '"';
}

export function yamlScalar(value: unknown): string {
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot render the number ${value}`);
    return String(value);
  }
  if (value === null || value === undefined) return 'null';
  const s = String(value);
  return isPlainSafe(s) ? s : doubleQuoted(s);
}

/**
 * Text for a YAML comment: printable ASCII only, so it can never end the comment line. Names that
 * passed the file-name rule come out unchanged; anything else is escaped rather than trusted.
 */
export function commentText(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : doubleQuoted(s);
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
