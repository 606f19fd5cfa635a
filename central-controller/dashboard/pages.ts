// The dashboard's views, rendered on the server from the controller's state (through views.ts, the
// same functions the JSON API uses, so the page and the API never disagree). Every value goes through
// the `html` tag, which escapes it.
import type { LeaderInfo } from '../kubernetes/leadership.ts';
import type { CardinalityFlag } from '../../core/protocol/cardinality-flag.ts';
import { fixBranch, flagKey } from '../../core/cardinality-fix/flag-key.ts';
import type { ControllerEvent, ControllerState, RolloutRecord, ShardState } from '../controller-state.ts';
import { quarantineView, repositoryView, shardDetailView, shardsView, teamsView, teamView } from '../views.ts';
import { ago, badge, humanSeconds, shortSha, stateBadge, usage } from './format.ts';
import { html, join, seg, type SafeHtml } from './html.ts';
import { page } from './layout.ts';
import { freshestUsageByShard, seriesOfUsage } from '../controller-state.ts';
import { recentRevisionsPanel } from './revision-page.ts';
import { reshardPanel } from './reshard-panel.ts';
import type { ReshardView } from '../resharding/reshard-coordinator.ts';

export interface PageContext {
  state: ControllerState;
  /** The current rollout wave (canary shard first), if any. */
  wave?: () => { revision: string; canary: string | null; shards: string[]; status: 'canary' | 'halted' | 'released' } | null;
  /** Who leads (Kubernetes mode); outside it the line is left out. */
  leader?: () => LeaderInfo;
  /** Kubernetes agent discovery (`--kubernetes`): whether its pod watches work, and why not. */
  kubernetes?: () => { ok: boolean; error: string | null } | undefined;
  /** The global view's URL (--global-view-url), linked from the header. */
  globalViewUrl?: string;
  /** Shards being resharded (central-controller/resharding/). */
  reshards?: () => { active: ReshardView[]; recent: ReshardView[] };
}

type ShardSummary = ReturnType<typeof shardsView>[number];
type ReplicaSummary = ShardSummary['replicas'][number];

/** One word for a whole shard: in-sync, rolling-out, failed, unreachable (or no agents / not rendered). */
export function shardStateOf(s: ShardSummary): string {
  if (!s.desired) return 'not rendered';
  if (s.replicas.length === 0) return 'no agents';
  if (s.inSync) return 'in-sync';
  if (s.replicas.some((r) => r.state === 'failed') || s.rollout?.status === 'failed') return 'failed';
  if (s.heldBy) return 'held';
  const reachable = s.replicas.filter((r) => r.state !== 'unreachable');
  if (reachable.length < s.replicas.length && reachable.every((r) => r.state === 'in-sync')) return 'unreachable';
  return 'rolling-out';
}

function revLink(sha: string | null | undefined, generation?: number | null): SafeHtml {
  if (!sha) return html`<span class="muted">—</span>`;
  return html`<code class="rev" data-revision="${sha}" title="${sha}">${shortSha(sha)}</code>${generation !== undefined && generation !== null ? html` <span class="muted generation" title="generation">g${generation}</span>` : ''}`;
}

function lastReload(state: ControllerState, shard: string, r: ReplicaSummary): SafeHtml {
  const rec = state.agents.get(shard, r.replica);
  const last = rec?.status?.lastResult;
  if (last) {
    return html`${stateBadge(last.result, 'result')} ${revLink(last.revision)} ${ago(last.finishedAt)}${last.reloadMs !== undefined ? html` <span class="muted">reload ${last.reloadMs} ms</span>` : ''}${last.error ? html`<div class="error-text">${last.error}</div>` : ''}`;
  }
  if (r.lastPush) return html`${stateBadge(r.lastPush.result, 'result')} ${ago(r.lastPush.at)}${r.lastPush.error ? html`<div class="error-text">${r.lastPush.error}</div>` : ''}`;
  return html`<span class="muted">none yet</span>`;
}

function seriesCell(ctx: PageContext, shard: string, max: number | null | undefined): SafeHtml {
  const u = freshestUsageByShard(ctx.state).get(shard);
  if (!u) return html`<span title="measured by the agents' cardinality analyzer (GET /v1/usage); none reported yet">${usage(null, max, 'series')}</span>`;
  return html`${usage(seriesOfUsage(u), max, 'series')} <span class="muted small">measured ${ago(u.measuredAt!)}</span>`;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

export function timeline(events: readonly ControllerEvent[]): SafeHtml {
  return html`<aside class="timeline" aria-label="timeline">
  <h2>Timeline <span class="muted small">rollouts, reloads, commits</span></h2>
  <ol id="timeline" data-last-id="${events[0]?.id ?? 0}">
    ${events.map((e) => timelineItem(e))}
  </ol>
</aside>`;
}

const EVENT_TONES: Record<string, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = {
  'rollout-done': 'ok',
  'repository-valid': 'ok',
  'wave-done': 'ok',
  'agent-reachable': 'ok',
  'rollout-failed': 'bad',
  'repository-invalid': 'bad',
  'file-quarantined': 'warn',
  'quarantine-cleared': 'ok',
  'sync-failed': 'bad',
  'wave-halted': 'bad',
  'replica-skipped': 'warn',
  'rollout-superseded': 'muted',
  'agent-unreachable': 'warn',
  'agent-faulty': 'bad',
  'reshard-handed-over': 'ok',
  'reshard-done': 'ok',
  'reshard-overdue': 'warn',
};

export function eventTone(e: ControllerEvent): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  if (e.type === 'push') return e.result === 'applied' || e.result === 'unchanged' ? 'ok' : e.result === 'superseded' ? 'muted' : 'bad';
  return EVENT_TONES[e.type] ?? 'info';
}

function timelineItem(e: ControllerEvent): SafeHtml {
  return html`<li data-id="${e.id}" class="ev ${eventTone(e)}"><time datetime="${e.at}" data-ago>${humanSeconds((Date.now() - Date.parse(e.at)) / 1000)} ago</time> <span class="badge ${eventTone(e)}">${e.type}</span> <span class="msg">${e.message}</span></li>`;
}

function repositoryBanner(state: ControllerState): SafeHtml {
  const r = repositoryView(state);
  if (r.valid === false && !r.held && r.quarantined.length > 0) {
    const n = r.quarantined.length;
    return html`<div class="banner warn" role="alert"><strong>${n} file${n === 1 ? '' : 's'} quarantined</strong>: commit ${revLink(r.head?.sha)} has errors in ${join(
      r.quarantined.map((q) => html`<code>${q.file}</code>`),
      ', ',
    )}; ${n === 1 ? 'it keeps' : 'they keep'} their last good version (or stay out), and every other change rolls out. <a href="/repository">See the findings</a>.</div>`;
  }
  if (r.valid === false) {
    const errors = r.findings.filter((f) => f.severity === 'error').length;
    return html`<div class="banner bad" role="alert"><strong>main is invalid</strong>: commit ${revLink(r.head?.sha)} has ${errors} error${errors === 1 ? '' : 's'}; the fleet keeps ${revLink(r.lastGood?.sha)}. <a href="/repository">See the findings</a>.</div>`;
  }
  if (r.lastSyncError) return html`<div class="banner warn" role="alert">Fetching the repository failed: ${r.lastSyncError}</div>`;
  return html``;
}

/** Kubernetes mode: one line saying who leads, so a follower's page is not mistaken for the leader's. */
function leaderLine(ctx: PageContext): SafeHtml {
  const l = ctx.leader?.();
  if (!l?.elected) return html``;
  if (l.isLeader) return html`<p class="leader-line muted small" id="leader-line">This controller (<code>${l.identity}</code>) leads, term ${l.term}.</p>`;
  const error = l.lastError ? html` <span class="warn">Lease: ${l.lastError}</span>` : html``;
  return html`<p class="leader-line muted small" id="leader-line">Follower <code>${l.identity}</code>: ${l.leader ? html`<code>${l.leader}</code> leads (term ${l.term}) and pushes` : 'no leader known yet'}; this page shows what this controller sees.${error}</p>`;
}

/** Kubernetes mode: a pod watch that fails (e.g. RBAC 403) means new or moved agents go unseen. */
function discoveryBanner(ctx: PageContext): SafeHtml {
  const k = ctx.kubernetes?.();
  if (!k || k.ok || !k.error) return html``;
  return html`<div class="banner warn" role="alert" id="kubernetes-banner"><strong>Kubernetes agent discovery is failing</strong> (retrying): ${k.error}. Agents already known keep being served; new, moved or deleted pods are not seen until it works.</div>`;
}

export function frame(ctx: PageContext, p: { title: string; nav: Parameters<typeof page>[0]['nav']; body: SafeHtml; scope: string }): SafeHtml {
  return page({ title: p.title, nav: p.nav, body: p.body, banner: html`${leaderLine(ctx)}${discoveryBanner(ctx)}${repositoryBanner(ctx.state)}`, timeline: timeline(ctx.state.recentEvents(40)), liveScope: p.scope, globalViewUrl: ctx.globalViewUrl });
}

function flagTable(flags: readonly CardinalityFlag[], opts: { showTeam: boolean }): SafeHtml {
  if (flags.length === 0) return html`<p class="muted" id="no-flags">No cardinality flags.</p>`;
  return html`<div class="flags">${flags.map((f) => flagCard(f, opts))}</div>`;
}

// The dashboard only reads (its CSP has form-action 'none' and its session cookie grants read access),
// so a fix PR is opened from where push and git-host credentials already live: the flag shows the
// command that does it (docs/cardinality.md, "The fix as a pull request").
function fixPrCommand(f: CardinalityFlag): SafeHtml {
  const key = flagKey(f.id);
  return html`<div class="fix-pr" data-flag-key="${key}">
    <div class="fix-head"><span><strong>Open fix PR</strong>: merges the fix into <code>${f.file || 'the team file'}</code>, checks it with validate, pushes <code>${fixBranch(f.id)}</code> and opens a PR/MR</span>
      <button type="button" class="copy" data-copy-target="fixcmd-${key}">Copy</button></div>
    <pre class="snippet command" id="fixcmd-${key}">promshard fix ${key} --open-pr</pre>
    <p class="note">Add <code>--controller</code>, <code>--repo</code> and <code>--githost</code>/<code>--githost-repo</code> for your repository; without <code>--open-pr</code> it prints the diff.</p>
  </div>`;
}

function flagCard(f: CardinalityFlag, opts: { showTeam: boolean }): SafeHtml {
  const snippetId = `fix-${f.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return html`<article class="card flag" data-flag-id="${f.id}">
  <header>
    <h3><code>${f.metric}</code> · label <code class="label-name">${f.label}</code></h3>
    ${stateBadge(f.severity, 'severity')}
  </header>
  <dl class="facts">
    <dt>job</dt><dd><code>${f.job}</code> on <a href="/shards/${seg(f.shard)}">${f.shard}</a>${opts.showTeam ? html` · team <a href="/teams/${seg(f.team)}">${f.team}</a>` : ''}</dd>
    <dt>file</dt><dd>${f.file ? html`<code class="location">${f.file}${f.line ? `:${f.line}` : ''}</code>` : html`<span class="muted">unknown</span>`}</dd>
    <dt>why</dt><dd>${f.reasons.map((r) => badge(r, 'info'))} ${f.distinctValues.toLocaleString('en')} distinct values in ${f.metricSeries.toLocaleString('en')} series${f.pattern ? html` · ${Math.round(f.patternShare * 100)}% look like <strong>${f.pattern}</strong>` : ''}${f.risingCycles > 0 ? html` · rising ${f.risingCycles} cycles` : ''}</dd>
    <dt>examples</dt><dd>${join(f.examples.map((e) => html`<code class="example">${e}</code>`), ' ')}</dd>
    <dt>since</dt><dd>${ago(f.firstSeen)}</dd>
  </dl>
  <div class="fix">
    <div class="fix-head"><span><strong>Suggested fix</strong> (${f.fix.kind}): saves about ${f.fix.estimatedSeriesSaved.toLocaleString('en')} series (${f.fix.seriesBefore.toLocaleString('en')} → ${f.fix.seriesAfter.toLocaleString('en')})</span>
      <button type="button" class="copy" data-copy-target="${snippetId}">Copy</button></div>
    <pre class="snippet" id="${snippetId}">${f.fix.snippet}</pre>
    ${f.fix.note ? html`<p class="note">${f.fix.note}</p>` : ''}
  </div>
  ${fixPrCommand(f)}
</article>`;
}

// ---------------------------------------------------------------------------------------------
/** Quarantined team files (all, or one team's), each with what is served instead and its findings. */
function quarantinePanel(ctx: PageContext, team?: string): SafeHtml {
  const files = quarantineView(ctx.state, team);
  if (files.length === 0) return html``;
  return html`<section class="panel quarantine" aria-label="quarantined files">
  <h2>Quarantined files ${badge(String(files.length), 'warn')}</h2>
  <p class="muted">These files have errors at the head commit. Each keeps its last good version (or stays out if it never had one) while every other change rolls out; fixing the file lifts the quarantine.</p>
  <div class="table-wrap"><table class="findings">
  <thead><tr><th>file</th><th>team</th><th>served</th><th>findings</th></tr></thead>
  <tbody>${files.map(
    (q) => html`<tr data-file="${q.file}"><th scope="row"><code>${q.file}</code></th><td data-label="team">${q.team ? html`<a href="/teams/${seg(q.team)}">${q.team}</a>` : ''}</td><td data-label="served">${q.served}</td><td data-label="findings"><ul>${q.findings.map(
      (f) => html`<li><code class="location">${f.location}</code> <code class="rule">${f.ruleId}</code> ${f.message}</li>`,
    )}</ul></td></tr>`,
  )}</tbody></table></div>
</section>`;
}

// Fleet

export function fleetPage(ctx: PageContext): SafeHtml {
  const shards = shardsView(ctx.state);
  const repo = repositoryView(ctx.state);
  const teams = teamsView(ctx.state);
  const counts = new Map<string, number>();
  for (const s of shards) counts.set(shardStateOf(s), (counts.get(shardStateOf(s)) ?? 0) + 1);
  const body = html`<section class="summary">
  <h1>Fleet</h1>
  <p class="lead">${shards.length} shard${shards.length === 1 ? '' : 's'} · ${join(
    [...counts.entries()].sort().map(([k, n]) => html`${stateBadge(k)} ${n}`),
    ' · ',
  )} · following <code>${repo.branch}</code> at ${revLink(repo.lastGood?.sha, repo.lastGood?.generation)}${repo.lastGood ? html` <span class="muted">“${repo.lastGood.message}”</span>` : ''}</p>
  ${waveLine(ctx)}
</section>
${reshardPanel(ctx.reshards?.())}
${quarantinePanel(ctx)}
<section class="shards grid" aria-label="shards">
  ${shards.length === 0 ? html`<p class="muted">No shards yet: the controller has not compiled the repository, and no agent has registered.</p>` : shards.map((s) => shardCard(ctx, s))}
</section>
${recentRevisionsPanel(ctx)}
<section class="panel" aria-label="teams">
  <h2>Teams</h2>
  ${teamsTable(teams)}
</section>`;
  return frame(ctx, { title: 'Fleet', nav: 'fleet', body, scope: 'all' });
}

function waveLine(ctx: PageContext): SafeHtml {
  const w = ctx.wave?.();
  if (!w || !w.canary || w.status === 'released') return html``;
  return html`<p class="wave">${w.status === 'halted' ? badge('wave halted', 'bad') : badge('canary first', 'info')} revision ${revLink(w.revision)}: canary shard <a href="/shards/${seg(w.canary)}">${w.canary}</a>${w.status === 'halted' ? ' failed; ' : ' goes first; '}${w.shards.length - 1} other shard${w.shards.length === 2 ? '' : 's'} (${w.shards.filter((x) => x !== w.canary).join(', ')}) wait${w.shards.length === 2 ? 's' : ''}.</p>`;
}

function shardCard(ctx: PageContext, s: ShardSummary): SafeHtml {
  const st = shardStateOf(s);
  const committed = s.desired?.committedAt;
  const receivedAt = ctx.state.shards.get(s.name)?.desiredRef?.receivedAt;
  return html`<article class="card shard" data-shard="${s.name}" data-state="${st}">
  <header><h2><a href="/shards/${seg(s.name)}">${s.name}</a></h2>${stateBadge(st)}</header>
  <dl class="facts">
    <dt>desired</dt><dd class="desired">${revLink(s.desired?.revision, s.desired?.generation)}${committed ? html` <span class="muted">committed ${ago(committed)}</span>` : ''}</dd>
    <dt>lag</dt><dd>${s.replicas.length === 0 || !receivedAt ? html`<span class="muted">—</span>` : s.inSync ? html`<span class="lag">0 s</span> <span class="muted">(in sync)</span>` : html`<span class="lag" data-since="${new Date(receivedAt).toISOString()}">${humanSeconds(s.lagSeconds)}</span> <span class="muted">since the commit arrived</span>`}</dd>
    ${s.split ? html`<dt>split</dt><dd class="split">${s.split.index} of ${s.split.count} (numbered from 0) of shard ${s.split.shard} <span class="muted">(hashmod of ${s.split.by})</span></dd>` : ''}
    <dt>targets</dt><dd>${usage(s.targetCount, s.budget?.max_targets, 'targets')}</dd>
    <dt>series</dt><dd>${seriesCell(ctx, s.name, s.budget?.max_series)}</dd>
    <dt>flags</dt><dd>${s.flagCount > 0 ? badge(`${s.flagCount} cardinality flag${s.flagCount === 1 ? '' : 's'}`, 'warn') : html`<span class="muted">none</span>`}</dd>
    ${s.rollout && s.rollout.status !== 'done' ? html`<dt>rollout</dt><dd>${stateBadge(s.rollout.status)} ${revLink(s.rollout.revision)}${s.rollout.failedReplica ? html` halted at <strong>${s.rollout.failedReplica}</strong>${s.rollout.haltReason ? html`: <span class="halt-reason">${s.rollout.haltReason}</span>` : ''}` : ''}${s.rollout.error ? html`<div class="error-text">${s.rollout.error}</div>` : ''}${skippedNote(s.rollout)}</dd>` : ''}
  </dl>
  ${replicaTable(ctx, s, false)}
</article>`;
}

function skippedNote(r: RolloutRecord): SafeHtml {
  if (r.skipped.length === 0) return html``;
  return html`<div class="skipped muted small">skipped (Prometheus already down, the rollout went on): ${join(
    r.skipped.map((x) => html`<strong>${x.replica}</strong>`),
    ', ',
  )}</div>`;
}

function replicaTable(ctx: PageContext, s: ShardSummary, detailed: boolean): SafeHtml {
  if (s.replicas.length === 0) return html`<p class="muted">No agent has registered for this shard${s.replicasDeclared ? html` (shards.yaml declares ${s.replicasDeclared})` : ''}.</p>`;
  return html`<div class="table-wrap"><table class="replicas">
  <thead><tr><th>replica</th><th>state</th><th>applied</th><th>last reload</th>${detailed ? html`<th>Prometheus</th><th>last contact</th><th>agent</th>` : ''}</tr></thead>
  <tbody>
  ${s.replicas.map(
    (r) => html`<tr data-replica="${r.replica}" data-state="${r.state}">
    <th scope="row">${r.replica}</th>
    <td>${stateBadge(r.state)}${r.faulty ? html` ${badge('faulty', 'bad')}<div class="error-text faulty" title="since ${r.faulty.at}">its ${r.faulty.endpoint} answer does not fit the protocol: ${r.faulty.reason}</div>` : ''}${r.state === 'failed' && r.error ? html`<div class="error-text">${r.error}</div>` : r.reason ? html`<div class="reason muted small">${r.reason}</div>` : ''}</td>
    <td class="applied">${r.applied ? html`${revLink(r.applied.revision, r.applied.generation)}${r.applied.verified ? '' : html` ${badge('unverified', 'warn')}`}` : html`<span class="muted">nothing</span>`}</td>
    <td>${lastReload(ctx.state, s.name, r)}</td>
    ${detailed ? html`<td>${r.prometheusReachable === null ? html`<span class="muted">?</span>` : r.prometheusReachable ? badge('up', 'ok') : badge('down', 'bad')}</td><td>${ago(r.lastContactAt)}</td><td><code class="url">${r.url}</code></td>` : ''}
  </tr>`,
  )}
  </tbody></table></div>`;
}

function teamsTable(teams: ReturnType<typeof teamsView>): SafeHtml {
  if (teams.length === 0) return html`<p class="muted">No teams yet.</p>`;
  return html`<div class="table-wrap"><table class="teams">
  <thead><tr><th>team</th><th>jobs</th><th>targets</th><th>shards</th><th>flags</th></tr></thead>
  <tbody>${teams.map(
    (t) => html`<tr data-team="${t.team}"><th scope="row"><a href="/teams/${seg(t.team)}">${t.team}</a></th><td>${t.jobs}</td><td>${t.targets}</td><td>${join(
      t.shards.map((s) => html`<a href="/shards/${seg(s)}">${s}</a>`),
      ', ',
    )}</td><td>${t.flags > 0 ? badge(String(t.flags), 'warn') : html`<span class="muted">0</span>`}</td></tr>`,
  )}</tbody></table></div>`;
}

export function teamsPage(ctx: PageContext): SafeHtml {
  return frame(ctx, { title: 'Teams', nav: 'teams', scope: 'all', body: html`<section class="panel"><h1>Teams</h1>${teamsTable(teamsView(ctx.state))}</section>` });
}

// ---------------------------------------------------------------------------------------------
// Shard

export function shardPage(ctx: PageContext, s: ShardState): SafeHtml {
  const d = shardDetailView(ctx.state, s);
  const st = shardStateOf(d);
  const prefix = ctx.state.repository.subdir ? `${ctx.state.repository.subdir}/` : '';
  const jobs = s.compiled?.jobs ?? [];
  const flags = ctx.state.allFlags().filter((f) => f.shard === s.name);
  const body = html`<section class="summary">
  <h1>Shard <span class="name">${s.name}</span> ${stateBadge(st)}</h1>
  <dl class="facts wide">
    <dt>desired</dt><dd class="desired">${revLink(d.desired?.revision, d.desired?.generation)}${d.desired ? html` <span class="muted">committed ${ago(d.desired.committedAt)} · hash <code>${d.desired.hash.slice(0, 12)}</code></span>` : ''}</dd>
    <dt>released</dt><dd>${revLink(d.released?.revision, d.released?.generation)}</dd>
    ${d.split ? html`<dt>split</dt><dd class="split">${d.split.index} of ${d.split.count} (numbered from 0) of shard ${d.split.shard} <span class="muted">(hashmod of ${d.split.by}; its own replicas and rollout)</span></dd>` : ''}
    <dt>lag</dt><dd>${d.inSync ? html`0 s <span class="muted">(in sync)</span>` : d.lagSeconds > 0 ? html`<span class="lag" data-since="${new Date(Date.now() - d.lagSeconds * 1000).toISOString()}">${humanSeconds(d.lagSeconds)}</span> <span class="muted">since the commit arrived</span>` : html`<span class="muted">—</span>`}</dd>
    <dt>targets</dt><dd>${usage(d.targetCount, d.budget?.max_targets, 'targets')}</dd>
    <dt>series</dt><dd>${seriesCell(ctx, s.name, d.budget?.max_series)}</dd>
    <dt>replicas</dt><dd>${d.replicas.length} registered${d.replicasDeclared !== null ? html` of ${d.replicasDeclared} declared` : ''}</dd>
  </dl>
</section>
<section class="panel"><h2>Replicas</h2>${replicaTable(ctx, d, true)}</section>
<section class="panel"><h2>Rollout history</h2>${rolloutHistory(d.history)}</section>
<section class="panel"><h2>Jobs and targets</h2>
  ${jobs.length === 0 ? html`<p class="muted">No jobs.</p>` : html`<div class="table-wrap"><table class="jobs">
  <thead><tr><th>job</th><th>team</th><th>file</th><th>interval</th><th>targets</th></tr></thead>
  <tbody>${jobs.map(
    (j) => html`<tr data-job="${j.name}"><th scope="row"><code>${j.name}</code></th><td data-label="team"><a href="/teams/${seg(j.team)}">${j.team}</a></td><td data-label="file"><code class="location">${prefix}${j.source.file}:${j.source.line}</code></td><td data-label="interval">${j.spec.interval}</td>
    <td data-label="targets">${j.targets.length === 0 ? html`<span class="muted">${j.spec.discovery ? 'discovered' : 'none'}</span>` : html`<ul class="targets">${j.targets.map(
      (t) => html`<li><code>${t.address}</code>${Object.keys(t.labels).length ? html` ${join(
        Object.entries(t.labels).map(([k, v]) => html`<span class="label"><span class="k">${k}</span>=<span class="v">${v}</span></span>`),
        ' ',
      )}` : ''}</li>`,
    )}</ul>`}</td></tr>`,
  )}</tbody></table></div>`}
</section>
<section class="panel"><h2>Cardinality flags</h2>${flagTable(flags, { showTeam: true })}</section>
<section class="panel"><h2>Rendered configuration</h2>
  ${s.desired ? s.desired.files.map((f) => html`<details class="config" ${s.desired!.files.length === 1 ? 'open' : ''}><summary><code>${f.path}</code> <span class="muted">sha256 ${f.sha256.slice(0, 12)} · ${f.content.length.toLocaleString('en')} bytes</span></summary><pre class="config-text">${f.content}</pre></details>`) : html`<p class="muted">Not rendered yet.</p>`}
</section>`;
  return frame(ctx, { title: `Shard ${s.name}`, nav: 'shard', body, scope: `shard:${s.name}` });
}

function rolloutHistory(history: readonly RolloutRecord[]): SafeHtml {
  if (history.length === 0) return html`<p class="muted">No rollouts yet.</p>`;
  return html`<div class="table-wrap"><table class="history">
  <thead><tr><th>revision</th><th>status</th><th>started</th><th>took</th><th>proven on</th><th>error</th></tr></thead>
  <tbody>${history.map(
    (r) => html`<tr><td>${revLink(r.revision, r.generation)}</td><td data-label="status">${stateBadge(r.status)}</td><td data-label="started">${ago(r.startedAt)}</td><td data-label="took">${r.finishedAt ? humanSeconds((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000) : html`<span class="muted">…</span>`}</td><td data-label="proven on">${r.proven.join(', ')}${r.skipped.length ? html` <span class="muted">(skipped: ${r.skipped.map((x) => x.replica).join(', ')})</span>` : ''}</td><td data-label="error">${r.failedReplica ? html`<strong>${r.failedReplica}</strong>${r.haltReason ? html` (${r.haltReason})` : ''}: ` : ''}<span class="error-text">${r.error ?? ''}</span></td></tr>`,
  )}</tbody></table></div>`;
}

// ---------------------------------------------------------------------------------------------
// Team

export function teamPage(ctx: PageContext, team: string): SafeHtml | null {
  const t = teamView(ctx.state, team);
  if (!t) return null;
  const body = html`<section class="summary">
  <h1>Team <span class="name">${t.team}</span></h1>
  <p class="lead">${t.jobs.length} job${t.jobs.length === 1 ? '' : 's'} · ${t.targets} static target${t.targets === 1 ? '' : 's'} · on ${join(
    t.shards.map((s) => html`<a href="/shards/${seg(s)}">${s}</a>`),
    ', ',
  )} · ${t.flags.length > 0 ? badge(`${t.flags.length} cardinality flag${t.flags.length === 1 ? '' : 's'}`, 'warn') : html`no cardinality flags`}</p>
</section>
${quarantinePanel(ctx, t.team)}
${recentRevisionsPanel(ctx, { team: t.team })}
<section class="panel"><h2>Cardinality flags</h2>${flagTable(t.flags, { showTeam: false })}</section>
<section class="panel"><h2>Jobs</h2>
  <div class="table-wrap"><table class="jobs">
  <thead><tr><th>job</th><th>shard</th><th>file</th><th>targets</th></tr></thead>
  <tbody>${t.jobs.map(
    (j) => html`<tr data-job="${j.name}"><th scope="row"><code>${j.name}</code></th><td data-label="shard"><a href="/shards/${seg(j.shard)}">${j.shard}</a></td><td data-label="file"><code class="location">${j.file}:${j.line}</code></td><td data-label="targets">${j.targets.length === 0 ? html`<span class="muted">discovered</span>` : html`<ul class="targets">${j.targets.map((a) => html`<li><code>${a}</code></li>`)}</ul>`}</td></tr>`,
  )}</tbody></table></div>
</section>`;
  return frame(ctx, { title: `Team ${t.team}`, nav: 'team', body, scope: `team:${t.team}` });
}

// ---------------------------------------------------------------------------------------------
// Repository

export function repositoryPage(ctx: PageContext): SafeHtml {
  const r = repositoryView(ctx.state);
  const commit = (label: string, c: typeof r.head) =>
    html`<dt>${label}</dt><dd>${c ? html`${revLink(c.sha, c.generation)} <span class="msg">“${c.message}”</span> <span class="muted">by ${c.author}, committed ${ago(c.committedAt)}, received ${ago(c.receivedAt)}</span>` : html`<span class="muted">none</span>`}</dd>`;
  const errors = r.findings.filter((f) => f.severity === 'error');
  const body = html`<section class="summary">
  <h1>Repository ${r.valid === null ? badge('not compiled yet', 'muted') : r.valid ? stateBadge('valid') : stateBadge('invalid')}</h1>
  <dl class="facts wide">
    <dt>repository</dt><dd><code>${r.repo}</code> branch <code>${r.branch}</code>${r.subdir ? html` in <code>${r.subdir}/</code>` : ''}</dd>
    ${commit('head', r.head)}
    ${commit('last good', r.lastGood)}
    <dt>last fetch</dt><dd>${ago(r.lastSyncAt)}${r.lastSyncError ? html` <span class="error-text">${r.lastSyncError}</span>` : ''}</dd>
  </dl>
</section>
<section class="panel"><h2>Findings of the head commit</h2>
  ${r.held ? html`<p class="banner bad">Nothing of the head commit is served: ${r.held}</p>` : ''}
  ${r.valid === false && !r.held && r.quarantined.length > 0 ? html`<p class="banner warn">The head commit has errors in ${r.quarantined.length} quarantined file(s) (listed below); every other change rolls out.</p>` : ''}
  ${r.valid === false && !r.held && r.quarantined.length === 0 ? html`<p class="banner bad">The head commit is refused (${errors.length} error${errors.length === 1 ? '' : 's'}): nothing from it reaches any Prometheus; the fleet keeps ${revLink(r.lastGood?.sha)}.</p>` : ''}
  ${r.findings.length === 0 ? html`<p class="muted">No findings.</p>` : html`<div class="table-wrap"><table class="findings">
  <thead><tr><th>location</th><th>severity</th><th>rule</th><th>message</th></tr></thead>
  <tbody>${r.findings.map(
    (f) => html`<tr class="${f.severity}"><td><code class="location">${f.location}</code></td><td data-label="severity">${stateBadge(f.severity)}</td><td data-label="rule"><code class="rule">${f.ruleId}</code></td><td data-label="message">${f.message}${f.hint ? html`<div class="muted">${f.hint}</div>` : ''}</td></tr>`,
  )}</tbody></table></div>`}
</section>
${quarantinePanel(ctx)}`;
  return frame(ctx, { title: 'Repository', nav: 'repository', body, scope: 'repository' });
}

export function notFoundPage(ctx: PageContext, what: string): SafeHtml {
  return frame(ctx, { title: 'Not found', nav: undefined, scope: '', body: html`<section class="panel"><h1>Not found</h1><p>${what}</p><p><a href="/">Back to the fleet</a></p></section>` });
}
