// Strict HTML building for the dashboard. Every interpolated value is escaped unless it is already a
// SafeHtml produced by this module: a label value, a job name or a commit message from the repository
// is untrusted input and can never become markup.

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

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(v);
}

/** Tagged template: `html\`<td>${value}</td>\`` escapes `value`; nested html`` fragments pass through. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Joins fragments (escaping plain strings). */
export function join(parts: readonly Interpolation[], sep: SafeHtml | string = ''): SafeHtml {
  return new SafeHtml(parts.map(render).join(render(sep)));
}

/** A path segment for a link (shard or team names come from the repository). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
