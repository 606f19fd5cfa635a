// The fleet page's panel on shards being resharded: the two layouts, the phase, how long the moved
// targets have been scraped twice against the bound, how many were handed over, and what the overlap
// still waits for. The same objects as GET /v1/reshards.
import type { ReshardView } from '../resharding/reshard-coordinator.ts';
import { describeLayout } from '../../core/placement/reshard-overlap.ts';
import { badge, humanSeconds } from './format.ts';
import { html, seg, type SafeHtml } from './html.ts';

export function reshardPanel(reshards: { active: ReshardView[]; recent: ReshardView[] } | undefined): SafeHtml {
  const active = reshards?.active ?? [];
  if (active.length === 0) return html``;
  return html`<section class="panel reshards" aria-label="resharding">
  <h2>Resharding ${badge(String(active.length), 'info')}</h2>
  <p class="muted">While a shard's split layout changes, each moved target is scraped by its old split and its new one, until its new split has scraped it; then the old split drops it. The overlap ends at the latest at its bound.</p>
  <div class="table-wrap"><table>
  <thead><tr><th>shard</th><th>phase</th><th>overlap</th><th>moved targets handed over</th><th>waiting for</th></tr></thead>
  <tbody>${active.map(
    (r) => html`<tr data-reshard="${r.shard}"><th scope="row"><a href="/shards/${seg(r.shard)}">${r.shard}</a>: ${describeLayout(r.from)} → ${describeLayout(r.to)}</th><td data-label="phase">${badge(r.phase, r.phase === 'overlap' ? 'info' : 'muted')}</td><td data-label="overlap"><span data-since="${r.startedAt}">${humanSeconds(r.overlapSeconds)}</span> of at most ${humanSeconds(r.boundSeconds)}${r.expired ? html` ${badge('bound passed', 'warn')}` : ''}</td><td data-label="handed over">${r.handedOverCount} / ${r.movedCount}${r.discoveryJobs.length ? html` <span class="muted">+ discovered targets of ${r.discoveryJobs.join(', ')}</span>` : ''}</td><td data-label="waiting for">${r.waitingFor ?? html`<span class="muted">—</span>`}</td></tr>`,
  )}</tbody></table></div>
</section>`;
}
