// The revision page (/revisions/:sha) and the recent-revisions panels of the fleet and team pages,
// rendered from the same records /v1/revisions serves (central-controller/revision-life.ts): what
// the commit changed, where it landed (each shard, each replica), and each new target's health with
// Prometheus's own error when it is down. Commit messages and authors are the author's text: they
// go through `html`, which escapes and bidi-isolates them.
import { revisionTouchesTeam, type RevisionLife, type ShardLife, type TargetLife } from '../revision-life.ts';
import { ago, badge, humanSeconds, shortSha, stateBadge, type Tone } from './format.ts';
import { html, join, seg, type SafeHtml } from './html.ts';
import { frame, type PageContext } from './pages.ts';

const OUTCOME_TONES: Record<ShardLife['outcome'], Tone> = {
  pending: 'info',
  'rolling-out': 'info',
  applied: 'ok',
  halted: 'bad',
  refused: 'bad',
  superseded: 'muted',
  unchanged: 'muted',
};

const HEALTH_TONES: Record<TargetLife['health'], Tone> = { up: 'ok', down: 'bad', unknown: 'muted' };

export function revisionHref(sha: string): string {
  return `/revisions/${seg(sha)}`;
}

/** "3/3 up", "1/2 up, 1 down" for the targets of a revision (all shards). */
export function targetSummary(r: RevisionLife): { text: string; tone: Tone } | null {
  const targets = Object.values(r.shards).flatMap((s) => s.targets);
  if (targets.length === 0) return null;
  const up = targets.filter((t) => t.health === 'up').length;
  const down = targets.filter((t) => t.health === 'down').length;
  const settled = Object.values(r.shards).every((s) => s.targetsSettled);
  return { text: `${up}/${targets.length} new targets up${down ? `, ${down} down` : ''}${settled ? '' : ' (checking)'}`, tone: up === targets.length ? 'ok' : down > 0 && settled ? 'bad' : down > 0 ? 'warn' : 'info' };
}

function landing(r: RevisionLife): SafeHtml {
  const changed = Object.entries(r.shards).filter(([, s]) => s.changed);
  if (r.valid === false && changed.length === 0) return badge('invalid', 'bad');
  if (changed.length === 0) return html`<span class="muted">no shard changed</span>`;
  return join(
    changed.map(([name, s]) => html`<span class="landing" data-shard="${name}">${name} ${badge(s.outcome.replace(/-/g, ' '), OUTCOME_TONES[s.outcome])}</span>`),
    ' ',
  );
}

/** A table of revisions (newest first): the fleet page's and the team page's "Recent revisions". */
export function revisionsTable(revisions: readonly RevisionLife[]): SafeHtml {
  if (revisions.length === 0) return html`<p class="muted">No revisions recorded yet.</p>`;
  return html`<div class="table-wrap"><table class="revisions">
  <thead><tr><th>revision</th><th>commit</th><th>received</th><th>landed</th><th>targets</th></tr></thead>
  <tbody>${revisions.map((r) => {
    const t = targetSummary(r);
    return html`<tr data-revision="${r.sha}"><th scope="row"><a href="${revisionHref(r.sha)}"><code class="rev">${shortSha(r.sha)}</code></a></th><td data-label="commit"><span class="msg">${r.message}</span> <span class="muted">by ${r.author}</span></td><td data-label="received">${ago(r.receivedAt)}</td><td data-label="landed">${landing(r)}</td><td data-label="targets">${t ? badge(t.text, t.tone) : html`<span class="muted">—</span>`}</td></tr>`;
  })}</tbody></table></div>`;
}

export function recentRevisionsPanel(ctx: PageContext, opts: { team?: string; limit?: number } = {}): SafeHtml {
  const all = ctx.state.revisions.list().filter((r) => !opts.team || revisionTouchesTeam(r, opts.team));
  return html`<section class="panel revisions" aria-label="recent revisions">
  <h2>Recent revisions${opts.team ? html` <span class="muted small">touching ${opts.team}</span>` : ''}</h2>
  ${revisionsTable(all.slice(0, opts.limit ?? 10))}
</section>`;
}

function since(from: string, to: string | undefined | null): string {
  if (!to) return '';
  return `+${humanSeconds(Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000))}`;
}

function shardSection(r: RevisionLife, name: string, s: ShardLife): SafeHtml {
  if (!s.changed) return html`<section class="panel revision-shard" data-shard="${name}" data-outcome="unchanged"><h2>Shard <a href="/shards/${seg(name)}">${name}</a> ${badge('unchanged', 'muted')}</h2><p class="muted">This revision did not change this shard's configuration: no replica reloaded.</p></section>`;
  const replicas = Object.entries(s.replicas).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  return html`<section class="panel revision-shard" data-shard="${name}" data-outcome="${s.outcome}">
  <h2>Shard <a href="/shards/${seg(name)}">${name}</a> ${badge(s.outcome.replace(/-/g, ' '), OUTCOME_TONES[s.outcome])}</h2>
  ${s.reason ? html`<p class="reason">${s.reason}</p>` : ''}
  ${s.prometheusError ? html`<pre class="error-text prometheus-error">${s.prometheusError}</pre>` : ''}
  ${s.rolloutStartedAt ? html`<p class="muted small">rollout started ${since(r.receivedAt, s.rolloutStartedAt)} after the commit arrived</p>` : ''}
  <h3>Replicas</h3>
  ${replicas.length === 0 ? html`<p class="muted">No replica has been pushed this revision yet.</p>` : html`<div class="table-wrap"><table class="revision-replicas">
  <thead><tr><th>replica</th><th>result</th><th>proven</th><th>push took</th></tr></thead>
  <tbody>${replicas.map(
    ([replica, x]) => html`<tr data-replica="${replica}"><th scope="row">${replica}</th><td data-label="result">${x.result ? stateBadge(x.result, 'result') : html`<span class="muted">—</span>`}${x.error ? html`<div class="error-text">${x.error}</div>` : ''}</td><td data-label="proven">${x.proven ? html`${badge('proven', 'ok')} <span class="muted">${since(r.receivedAt, x.appliedAt)}</span>` : html`<span class="muted">not yet</span>`}</td><td data-label="push took">${x.applyMs !== undefined ? `${x.applyMs} ms` : ''}</td></tr>`,
  )}</tbody></table></div>`}
  <h3>New and changed targets</h3>
  ${s.targets.length === 0 ? html`<p class="muted">${s.changed ? 'This revision added or changed no static target on this shard.' : 'Unchanged by this revision.'}</p>` : html`<div class="table-wrap"><table class="revision-targets">
  <thead><tr><th>job</th><th>target</th><th>change</th><th>health</th><th>first successful scrape</th><th>last error</th></tr></thead>
  <tbody>${s.targets.map(
    (t) => html`<tr data-job="${t.job}" data-address="${t.address}" data-health="${t.health}"><th scope="row"><code>${t.job}</code> <span class="muted small"><a href="/teams/${seg(t.team)}">${t.team}</a></span></th><td data-label="target"><code>${t.address}</code></td><td data-label="change">${t.change}</td><td data-label="health">${badge(t.health, HEALTH_TONES[t.health])}${t.replica ? html` <span class="muted small">on ${t.replica}</span>` : ''}</td><td data-label="first scrape">${t.firstScrapeAt ? html`${since(r.receivedAt, t.firstScrapeAt)} <span class="muted small">after the commit arrived</span>` : html`<span class="muted">${s.targetsSettled ? 'none' : 'waiting'}</span>`}</td><td data-label="last error">${t.lastError ? html`<span class="error-text target-error">${t.lastError}</span>` : ''}</td></tr>`,
  )}</tbody></table></div>${s.targetsSettled ? '' : html`<p class="muted small">Checking the replicas' Prometheus until every target is up (at most 2 minutes).</p>`}`}
</section>`;
}

export function revisionPage(ctx: PageContext, r: RevisionLife): SafeHtml {
  const t = targetSummary(r);
  const shards = Object.entries(r.shards).sort(([a, x], [b, y]) => Number(y.changed) - Number(x.changed) || a.localeCompare(b));
  const body = html`<section class="summary revision" data-revision="${r.sha}">
  <h1>Revision <code class="rev" title="${r.sha}">${shortSha(r.sha)}</code> ${r.valid === null ? badge('compiling', 'info') : r.valid ? stateBadge('valid') : stateBadge('invalid')} ${t ? badge(t.text, t.tone, 'target-summary') : ''}</h1>
  <p class="lead msg">${r.message}</p>
  <dl class="facts wide">
    <dt>author</dt><dd class="author">${r.author}</dd>
    <dt>commit</dt><dd><code>${r.sha}</code>${r.generation !== null ? html` <span class="muted">generation ${r.generation}</span>` : ''}</dd>
    <dt>committed</dt><dd>${ago(r.committedAt)}</dd>
    <dt>received</dt><dd>${ago(r.receivedAt)}</dd>
    <dt>compiled</dt><dd>${r.compiledAt ? html`${since(r.receivedAt, r.compiledAt)} <span class="muted">after it arrived</span>` : html`<span class="muted">not yet</span>`}</dd>
    <dt>landed</dt><dd>${landing(r)}</dd>
  </dl>
  ${r.held ? html`<p class="banner bad">Nothing of this commit is served: ${r.held}</p>` : ''}
</section>
${r.findings.length > 0 ? html`<section class="panel"><h2>Findings ${badge(String(r.findingCount), r.valid ? 'warn' : 'bad')}</h2>
  <ul class="findings">${r.findings.map((f) => html`<li>${stateBadge(f.severity)} <code class="location">${`${f.file}:${f.line}:${f.column}`}</code> <code class="rule">${f.rule}</code> ${f.message}</li>`)}</ul>
  ${r.findingCount > r.findings.length ? html`<p class="muted">and ${r.findingCount - r.findings.length} more: see <a href="/repository">the repository page</a>.</p>` : ''}
</section>` : ''}
${r.quarantined.length > 0 ? html`<section class="panel"><h2>Quarantined files</h2><ul>${r.quarantined.map((q) => html`<li><code>${q.file}</code> ${q.kept ? html`keeps its version from <a href="${revisionHref(q.kept)}"><code>${shortSha(q.kept)}</code></a>` : 'is left out'}</li>`)}</ul></section>` : ''}
${shards.map(([name, s]) => shardSection(r, name, s))}`;
  return frame(ctx, { title: `Revision ${shortSha(r.sha)}`, nav: undefined, body, scope: `revision:${r.sha}` });
}
