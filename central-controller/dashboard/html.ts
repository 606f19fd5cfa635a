// Strict HTML building for the dashboard. Every interpolated value is escaped unless it is already a
// SafeHtml produced by this module: a label value, a job name or a commit message from the repository
// is untrusted input and can never become markup. Nor can it reorder the page around it: in element
// content every interpolated string is wrapped in <bdi> (bidi-isolated, so U+202E in a name reverses
// only that name), and control, invisible and bidi characters are shown as visible `\u202e` escapes
// everywhere (attributes and <title> included, where <bdi> cannot go).
import { escapeUnsafeCharacters } from '../../core/text/unsafe-characters.ts';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Escapes text for an element body or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

/** Where an interpolation lands: element content, inside a tag (an attribute), or text-only elements. */
type Context = 'content' | 'tag' | 'text-only';

const TEXT_ONLY_TAG = /^<(?:title|textarea|script|style)\b/i;

// Escaped values never hold `<` or `>`, so the last `<` written so far tells the context exactly:
// an unclosed tag, or the opening tag of an element whose content is text only. Both searches run
// from the end, so building a large page stays linear.
function contextAfter(markup: string): Context {
  const lt = markup.lastIndexOf('<');
  if (lt > markup.lastIndexOf('>')) return 'tag';
  return lt >= 0 && TEXT_ONLY_TAG.test(markup.slice(lt, lt + 10)) ? 'text-only' : 'content';
}

function render(v: Interpolation, context: Context): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map((x) => render(x, context)).join('');
  if (typeof v !== 'string') return escapeHtml(v);
  if (context !== 'content') return escapeHtml(escapeUnsafeCharacters(v));
  if (v === '') return '';
  // Line breaks and tabs are kept in content: commit messages and errors span lines, and HTML shows
  // them as spaces (or as lines inside <pre>).
  return `<bdi>${escapeHtml(escapeUnsafeCharacters(v, { keepNewlines: true }))}</bdi>`;
}

/** Tagged template: `html\`<td>${value}</td>\`` escapes `value`; nested html`` fragments pass through. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!, contextAfter(out)) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Joins fragments in element content (escaping and isolating plain strings). */
export function join(parts: readonly Interpolation[], sep: SafeHtml | string = ''): SafeHtml {
  // The separator comes from the page's own code, not from data: escaped, not isolated.
  return new SafeHtml(parts.map((p) => render(p, 'content')).join(typeof sep === 'string' ? escapeHtml(sep) : sep.value));
}

/** A path segment for a link (shard or team names come from the repository). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
