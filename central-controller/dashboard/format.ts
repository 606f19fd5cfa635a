// Small formatting helpers for the views. Everything returns SafeHtml built with `html`, so values are
// escaped at the point they are interpolated.
import { html, type SafeHtml } from './html.ts';

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 10) : '—';
}

/** "12 s", "4 min", "3 h", "2 d". */
export function humanSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${Math.round(s * 10) / 10} s`.replace('.0 s', ' s');
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A timestamp shown as "12 s ago"; the script keeps the text current (data-ago). */
export function ago(iso: string | number | null | undefined): SafeHtml {
  if (iso === null || iso === undefined || iso === '') return html`<span class="muted">never</span>`;
  const d = typeof iso === 'number' ? new Date(iso) : new Date(iso);
  if (Number.isNaN(d.getTime())) return html`<span class="muted">—</span>`;
  const s = (Date.now() - d.getTime()) / 1000;
  return html`<time datetime="${d.toISOString()}" data-ago title="${d.toISOString()}">${humanSeconds(Math.max(0, s))} ago</time>`;
}

export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'muted';

export function badge(text: string, tone: Tone, extraClass = ''): SafeHtml {
  return html`<span class="badge ${tone} ${extraClass}">${text}</span>`;
}

const STATE_TONES: Record<string, Tone> = {
  'in-sync': 'ok',
  'in sync': 'ok',
  'rolling-out': 'info',
  'rolling out': 'info',
  failed: 'bad',
  held: 'warn',
  'prometheus-down': 'warn',
  unreachable: 'warn',
  unknown: 'muted',
  'no agents': 'muted',
  'not rendered': 'muted',
  done: 'ok',
  superseded: 'muted',
  'waiting-for-canary': 'info',
  applied: 'ok',
  unchanged: 'ok',
  'written-unverified': 'warn',
  'rolled-back': 'bad',
  rejected: 'bad',
  error: 'bad',
  critical: 'bad',
  warning: 'warn',
  valid: 'ok',
  invalid: 'bad',
};

export function stateBadge(state: string, cls = 'state'): SafeHtml {
  return badge(state.replace(/-/g, ' '), STATE_TONES[state] ?? 'muted', cls);
}

/** "used / max" with a <meter> (no inline style needed). */
export function usage(used: number | null, max: number | null | undefined, unit: string): SafeHtml {
  if (max === null || max === undefined) return html`<span class="muted">${used === null ? '—' : used.toLocaleString('en')} ${unit}</span>`;
  if (used === null) return html`<span class="usage-none"><span class="muted">— / ${max.toLocaleString('en')} ${unit}</span></span>`;
  const pct = max > 0 ? Math.round((used / max) * 1000) / 10 : 0;
  return html`<span class="usage"><span class="nums">${used.toLocaleString('en')} / ${max.toLocaleString('en')} ${unit} <span class="muted">(${pct}%)</span></span><meter min="0" max="${max}" low="${max * 0.7}" high="${max * 0.9}" optimum="0" value="${Math.min(used, max)}" title="${pct}% of budget"></meter></span>`;
}
