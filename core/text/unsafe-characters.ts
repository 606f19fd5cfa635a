// Characters that must never travel from the repository (or git metadata) to a reader unescaped:
// controls that end a line for some parser (CR, NEL, LS, PS are line breaks to Go's yaml.v2, which
// Prometheus uses), invisible formatting characters, and Unicode bidi controls that make a name read
// as another (U+202E). One definition serves the validation rule, the CLI and the dashboard, so what
// a rule refuses is exactly what the outputs escape.

/** Characters with a name worth printing in a finding; others are described by their class. */
const NAMES: Record<number, string> = {
  0x09: 'TAB',
  0x0a: 'LINE FEED',
  0x0d: 'CARRIAGE RETURN',
  0x7f: 'DELETE',
  0x85: 'NEXT LINE (NEL)',
  0x061c: 'ARABIC LETTER MARK',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'BYTE ORDER MARK (ZERO WIDTH NO-BREAK SPACE)',
};

const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Every refused character: C0 controls, DEL, C1 controls (NEL among them), line and paragraph
 * separators, bidi controls, zero-width and invisible formatting characters, the BOM, interlinear
 * annotation marks, and lone surrogates (not encodable as UTF-8, so no YAML parser can read them).
 */
export const UNSAFE_CHARACTER =
  /[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_GLOBAL = new RegExp(UNSAFE_CHARACTER.source, 'g');
/** The same set without LF and TAB, for free text (descriptions) where line breaks are legitimate. */
const UNSAFE_IN_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSAFE_IN_TEXT_GLOBAL = new RegExp(UNSAFE_IN_TEXT.source, 'g');

export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** What a refused character is, for a message: `U+202E RIGHT-TO-LEFT OVERRIDE (a bidi control)`. */
export function describeCharacter(cp: number): string {
  const name = NAMES[cp];
  const label = codePointLabel(cp);
  if (cp >= 0xd800 && cp <= 0xdfff) return `${label} (a lone surrogate, not encodable as UTF-8)`;
  if (BIDI.test(String.fromCharCode(cp))) return `${label} ${name} (a bidi control: it reorders how the text reads)`;
  if (cp === 0x0a || cp === 0x0d || cp === 0x85 || cp === 0x2028 || cp === 0x2029) return `${label} ${name} (a line break)`;
  if (cp < 0x20 || cp === 0x7f) return `${label} ${name ?? ''}${name ? ' ' : ''}(a control character)`.replace('  ', ' ');
  if (cp >= 0x80 && cp <= 0x9f) return `${label} ${name ? name + ' ' : ''}(a C1 control character)`;
  return `${label} ${name ? name + ' ' : ''}(an invisible formatting character)`;
}

export interface UnsafeCharacter {
  codePoint: number;
  /** 0-based index in UTF-16 code units. */
  index: number;
  /** 1-based position in characters (code points), as a reader counts. */
  position: number;
}

/** The first refused character of `s`, or undefined. `allowLineBreaks` keeps LF and TAB (free text). */
export function firstUnsafeCharacter(s: string, allowLineBreaks = false): UnsafeCharacter | undefined {
  const m = (allowLineBreaks ? UNSAFE_IN_TEXT : UNSAFE_CHARACTER).exec(s);
  if (!m) return undefined;
  return { codePoint: m[0].charCodeAt(0), index: m.index, position: [...s.slice(0, m.index)].length + 1 };
}

function visible(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Text made safe for a terminal or a log line: every refused character becomes a visible `\uXXXX`
 * (so `\u202e` shows instead of reversing what follows). `keepNewlines` leaves LF and TAB for
 * multi-line text (a commit message's body); CR is escaped regardless, since it rewrites a line.
 */
export function escapeUnsafeCharacters(s: string, opts: { keepNewlines?: boolean } = {}): string {
  return s.replace(opts.keepNewlines ? UNSAFE_IN_TEXT_GLOBAL : UNSAFE_GLOBAL, visible);
}
