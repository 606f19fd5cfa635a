// Renders a plan as text for a terminal or as Markdown ready to post on a pull request.
import type { Finding } from '../../core/findings/finding.ts';
import type { Plan, ShardPlan } from './compute-plan.ts';
import { escapeUnsafeCharacters } from '../../core/text/unsafe-characters.ts';

/** Lines for a terminal or a PR comment: a name's control or bidi character shows as `\u202e` instead of acting. */
function visibleLines(lines: string[]): string {
  return lines.map((l) => escapeUnsafeCharacters(l)).join('\n') + '\n';
}

export interface PlanExtras {
  base: string;
  head: string;
  headFindings: Finding[];
  /** Warnings about live state (cardinality flags, series estimates), when a controller was asked. */
  liveNotes: { shard: string; severity: 'warning' | 'error'; message: string }[];
}

function budgetCell(s: ShardPlan): string {
  const pct = s.maxTargets ? Math.round((s.targetsAfter / s.maxTargets) * 100) : 0;
  return `${s.targetsBefore} → ${s.targetsAfter} of ${s.maxTargets} targets (${pct}%)${s.overBudget ? ' OVER BUDGET' : ''}`;
}

function listTargets(prefix: string, targets: string[], max = 10): string {
  if (targets.length === 0) return '';
  const shown = targets.slice(0, max).join(', ');
  return `${prefix}${shown}${targets.length > max ? ` … and ${targets.length - max} more` : ''}`;
}

export function formatPlanText(plan: Plan, x: PlanExtras): string {
  const out: string[] = [`promshard plan ${x.base}..${x.head}`];
  const errors = x.headFindings.filter((f) => f.severity === 'error');
  if (errors.length) out.push(`! ${errors.length} error finding(s) at ${x.head}: this change would not be rolled out (run promshard validate)`);
  for (const n of x.liveNotes.filter((n) => !plan.shards.some((s) => s.shard === n.shard))) out.push(`${n.severity}: ${n.message}`);
  if (plan.shards.length === 0) out.push('No shard changes.');
  for (const s of plan.shards) {
    out.push('', `shard ${s.shard} (${s.change}; ${s.replicas} replica(s) reload): ${budgetCell(s)}`);
    for (const j of s.jobs) {
      const sign = j.change === 'added' ? '+' : j.change === 'removed' ? '-' : '~';
      out.push(`  ${sign} job ${j.job} (team ${j.team}, ${j.file})${j.fieldsChanged.length ? ` changed: ${j.fieldsChanged.join(', ')}` : ''}`);
      const add = listTargets('      + ', j.targetsAdded);
      const rem = listTargets('      - ', j.targetsRemoved);
      if (add) out.push(add);
      if (rem) out.push(rem);
    }
    for (const n of x.liveNotes.filter((n) => n.shard === s.shard)) out.push(`  ${n.severity}: ${n.message}`);
  }
  out.push('', `${plan.shards.length} shard(s) change, ${plan.unchangedShards} unchanged.`);
  return visibleLines(out);
}

/**
 * The head's findings grouped by file (errors first in each file), as the pull request shows them: one
 * collapsed section per file, open when it holds an error. At most `perFile` findings per file.
 */
export function findingsByFileMarkdown(findings: readonly Finding[], perFile = 20): string[] {
  if (findings.length === 0) return [];
  const byFile = new Map<string, Finding[]>();
  for (const f of findings) byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const out = [`#### Findings: ${errors} error(s), ${findings.length - errors} warning(s) in ${byFile.size} file(s)`, ''];
  for (const [file, list] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...list].sort((a, b) => (a.severity === b.severity ? a.start.line - b.start.line || a.start.column - b.start.column : a.severity === 'error' ? -1 : 1));
    const e = list.filter((f) => f.severity === 'error').length;
    out.push(`<details${e ? ' open' : ''}><summary><code>${html(file)}</code>: ${e} error(s), ${list.length - e} warning(s)</summary>`, '');
    for (const f of sorted.slice(0, perFile)) out.push(`- ${f.severity === 'error' ? ':x:' : ':warning:'} \`${f.start.line}:${f.start.column}\` **${md(f.ruleId)}** ${md(f.message)}`);
    if (sorted.length > perFile) out.push(`- … and ${sorted.length - perFile} more (run \`promshard validate\`)`);
    out.push('', '</details>', '');
  }
  return out;
}

const html = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const md = (s: string) => s.replace(/[|`<>*_[\]\\]/g, (c) => `\\${c}`);

export function formatPlanMarkdown(plan: Plan, x: PlanExtras): string {
  const out: string[] = [`### promshard plan`, '', `\`${md(x.base)}\` → \`${md(x.head)}\`: **${plan.shards.length}** shard(s) change, ${plan.unchangedShards} unchanged.`, ''];
  const errors = x.headFindings.filter((f) => f.severity === 'error');
  if (errors.length) out.push(`> [!CAUTION]`, `> ${errors.length} error finding(s): this change will not be rolled out until they are fixed.`, '');
  out.push(...findingsByFileMarkdown(x.headFindings));
  if (plan.shards.length) {
    out.push('| shard | change | jobs +/-/~ | targets +/- | targets vs budget |', '| --- | --- | --- | --- | --- |');
    for (const s of plan.shards) {
      const c = (k: string) => s.jobs.filter((j) => j.change === k).length;
      const ta = s.jobs.reduce((n, j) => n + j.targetsAdded.length, 0);
      const tr = s.jobs.reduce((n, j) => n + j.targetsRemoved.length, 0);
      out.push(`| ${md(s.shard)} | ${s.change} | ${c('added')}/${c('removed')}/${c('changed')} | +${ta} / -${tr} | ${budgetCell(s)}${s.overBudget ? ' :x:' : ''} |`);
    }
    out.push('');
    for (const s of plan.shards) {
      out.push(`<details><summary>${md(s.shard)}: ${s.jobs.length} job change(s)</summary>`, '');
      for (const j of s.jobs) {
        out.push(`- **${j.change}** \`${md(j.job)}\` (team ${md(j.team)}, \`${md(j.file)}\`)${j.fieldsChanged.length ? `: ${md(j.fieldsChanged.join(', '))}` : ''}`);
        if (j.targetsAdded.length) out.push(`  - added: ${j.targetsAdded.slice(0, 20).map((t) => `\`${md(t)}\``).join(', ')}${j.targetsAdded.length > 20 ? ` … +${j.targetsAdded.length - 20}` : ''}`);
        if (j.targetsRemoved.length) out.push(`  - removed: ${j.targetsRemoved.slice(0, 20).map((t) => `\`${md(t)}\``).join(', ')}${j.targetsRemoved.length > 20 ? ` … +${j.targetsRemoved.length - 20}` : ''}`);
      }
      out.push('', '</details>', '');
    }
  }
  if (x.liveNotes.length) {
    out.push('#### Live fleet', '');
    for (const n of x.liveNotes) out.push(`- ${n.severity === 'error' ? ':x:' : ':warning:'} **${md(n.shard)}**: ${md(n.message)}`);
  }
  return visibleLines(out);
}
