// The page frame shared by every view: head, navigation, the live region and the timeline.
// No inline script or style anywhere (the Content-Security-Policy forbids them): behaviour comes from
// /dashboard/assets/dashboard.js, looks from /dashboard/assets/dashboard.css.
import { html, type SafeHtml } from './html.ts';

export const ASSET_PREFIX = '/dashboard/assets';

export interface PageInput {
  title: string;
  body: SafeHtml;
  /** Which navigation entry is current. */
  nav?: 'fleet' | 'teams' | 'repository' | 'shard' | 'team';
  /** Rendered timeline (aside). */
  timeline?: SafeHtml;
  /** Repository banner shown above the content. */
  banner?: SafeHtml;
  /** Meta refresh target (used after the token exchange only). */
  refreshTo?: string;
  /** What the live script listens for: 'all', `shard:<name>`, `team:<name>`, 'repository'. */
  liveScope?: string;
  /** Where the fleet's remote_write lands (a query UI), linked from the header; left out when unset. */
  globalViewUrl?: string;
}

export function page(p: PageInput): SafeHtml {
  const cur = (n: PageInput['nav']) => (p.nav === n ? 'current' : '');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
${p.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${p.refreshTo}">` : ''}
<title>${p.title} · promshard</title>
<link rel="stylesheet" href="${ASSET_PREFIX}/dashboard.css">
<link rel="icon" href="${ASSET_PREFIX}/favicon.svg" type="image/svg+xml">
<script src="${ASSET_PREFIX}/dashboard.js" defer></script>
</head>
<body data-live-scope="${p.liveScope ?? ''}">
<header class="top">
  <a class="brand" href="/">promshard</a>
  <nav aria-label="views">
    <a href="/" class="${cur('fleet')}">Fleet</a>
    <a href="/teams" class="${cur('teams')}">Teams</a>
    <a href="/repository" class="${cur('repository')}">Repository</a>
    ${p.globalViewUrl ? html`<a href="${p.globalViewUrl}" id="global-view-link" rel="noopener noreferrer" title="every shard's series in one place (remote_write), labelled by promshard_shard and replica">Global view ↗</a>` : ''}
  </nav>
  <span id="live-status" class="live-status" title="live updates" aria-live="polite">static</span>
</header>
<div class="frame">
  <main id="live" data-title="${p.title}">
    ${p.banner ?? ''}
    ${p.body}
  </main>
  ${p.timeline ?? ''}
</div>
</body>
</html>
`;
}
