// The commit message, PR/MR title and body of a cardinality fix. Everything that came from the fleet
// (label values above all: they are whatever an exporter emitted) is made inert before it reaches
// Markdown: control, invisible and bidi characters become visible `\uXXXX` escapes, identifiers go in
// code spans that cannot be closed early, and example values sit in a fenced block whose fence is
// longer than any backtick run they hold (so no value can start a mention, a link or a heading).
import type { CardinalityFlag } from '../protocol/cardinality-flag.ts';
import { escapeUnsafeCharacters } from '../text/unsafe-characters.ts';
import { flagKey } from './flag-key.ts';
import { renderRules, type TeamFileEdit } from './edit-team-file.ts';

/** Hidden in the body so a person (or a later tool) can tell which flag a PR fixes. */
export const FIX_MARKER_PREFIX = '<!-- promshard-fix:';

const inert = (s: string) => escapeUnsafeCharacters(String(s));

/** A Markdown code span that holds `s` verbatim (after escaping), whatever backticks it contains. */
export function codeSpan(s: string): string {
  const text = inert(s);
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || longest ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

function fenced(lines: string[], lang = ''): string {
  const text = lines.map(inert).join('\n');
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

const num = (n: number) => n.toLocaleString('en-US');
const pct = (x: number) => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

export function fixTitle(flag: CardinalityFlag): string {
  return inert(`promshard: cardinality fix for ${flag.label} on ${flag.metric} (job ${flag.job})`);
}

export function fixCommitMessage(flag: CardinalityFlag, edit: TeamFileEdit): string {
  const saved = flag.fix.estimatedSeriesSaved;
  return escapeUnsafeCharacters(
    `${fixTitle(flag)}\n\n` +
      `${flag.fix.kind === 'labeldrop' ? `Drops ${flag.label}` : `Normalises ${flag.label}`} in job ${flag.job}'s metric_relabel_configs ` +
      `(${edit.added.length} rule${edit.added.length === 1 ? '' : 's'} added after the team's ${edit.kept}).\n` +
      `${num(flag.distinctValues)} distinct values; estimated series saved: ${num(saved)}; ` +
      `${flag.fix.complete ? 'complete' : `partial (${num(flag.fix.residualValues)} values remain)`}.\n\n` +
      `Flag: ${flag.id} (key ${flagKey(flag.id)})\n`,
    { keepNewlines: true },
  );
}

export interface FixBodyInput {
  flag: CardinalityFlag;
  edit: TeamFileEdit;
  /** The team file's path in the git repository (e.g. scrape-configs/teams/payments/api.yaml). */
  gitPath: string;
  /** Handles to @-mention (e.g. `@acme/payments`); none by default, CODEOWNERS does the asking. */
  mentions?: readonly string[];
  /** Where the flag can be seen (the controller's team page), if known. */
  dashboardUrl?: string;
}

export function fixBody(input: FixBodyInput): string {
  const { flag, edit, gitPath } = input;
  const fix = flag.fix;
  const saved = fix.estimatedSeriesSaved;
  const out: string[] = [];
  out.push(`${FIX_MARKER_PREFIX}${flagKey(flag.id)} -->`);
  out.push(`## Cardinality fix: label ${codeSpan(flag.label)} on ${codeSpan(flag.metric)}`);
  out.push('');
  out.push(
    `promshard's cardinality analysis on shard ${codeSpan(flag.shard)} flagged label ${codeSpan(flag.label)} of metric ${codeSpan(flag.metric)} ` +
      `in job ${codeSpan(flag.job)} (${inert(flag.severity)}, reason ${codeSpan(flag.reason)}).`,
  );
  out.push('');
  out.push('| | |');
  out.push('| --- | --- |');
  out.push(`| distinct values | ${num(flag.distinctValues)} |`);
  out.push(`| series of the metric / carrying the label | ${num(flag.metricSeries)} / ${num(flag.seriesAffected)} |`);
  out.push(`| values per series (ratio) | ${flag.valueRatio.toFixed(2)} |`);
  if (flag.pattern) out.push(`| values that look like ${codeSpan(flag.pattern)} | ${pct(flag.patternShare)} of ${num(flag.sampleSize)} sampled |`);
  out.push(`| reasons | ${flag.reasons.map(codeSpan).join(', ')} |`);
  out.push(`| owning team | ${codeSpan(flag.team)} |`);
  out.push(`| team file | ${codeSpan(gitPath)}, job at line ${edit.jobLine} |`);
  out.push(`| first seen | ${inert(flag.firstSeen)} |`);
  out.push('');
  if (flag.examples.length) {
    out.push('Example values (control and bidi characters shown as `\\uXXXX`):');
    out.push('');
    out.push(fenced(flag.examples));
    out.push('');
  }
  out.push('### The fix');
  out.push('');
  out.push(
    `${edit.added.length} rule${edit.added.length === 1 ? '' : 's'} added at the end of the job's ${codeSpan('metric_relabel_configs')}` +
      (edit.kept ? `, after the team's own ${edit.kept} rule${edit.kept === 1 ? '' : 's'} (kept unchanged and in order)` : ' (the job had none)') +
      ':',
  );
  out.push('');
  out.push(fenced(renderRules(edit.added, 0).replace(/\n$/, '').split('\n'), 'yaml'));
  out.push('');
  out.push(`- **Estimated series saved: ${num(saved)}** (${num(fix.seriesBefore)} → ${num(fix.seriesAfter)} series of ${codeSpan(flag.metric)}, measured with PromQL on the current series).`);
  const basis = fix.valuesExamined < flag.distinctValues ? `simulated on ${num(fix.valuesExamined)} of ${num(flag.distinctValues)} values` : `simulated on all ${num(fix.valuesExamined)} current values`;
  if (fix.complete) {
    out.push(`- **Complete**: ${num(fix.residualValues)} distinct value${fix.residualValues === 1 ? '' : 's'} of ${codeSpan(flag.label)} remain (${basis}), below the bar: the flag should clear after the rollout.`);
  } else {
    out.push(`- **Partial fix**: ${num(fix.residualValues)} distinct values of ${codeSpan(flag.label)} would remain (${basis}), still above the bar, so the flag stays raised. Consider dropping the label instead.`);
  }
  if (fix.residualExamples.length) {
    out.push('');
    out.push('Values left after the fix:');
    out.push('');
    out.push(fenced(fix.residualExamples));
  }
  out.push('');
  out.push(`> ${inert(fix.note)}`);
  out.push('');
  out.push('### Review');
  out.push('');
  const mentions = (input.mentions ?? []).map(inert).join(' ');
  out.push(
    `${mentions ? `${mentions}: ` : ''}team ${codeSpan(flag.team)} owns ${codeSpan(gitPath)}; please review. ` +
      `If this repository's CODEOWNERS maps ${codeSpan(gitPath.replace(/[^/]+$/, ''))} to the team, its review is requested automatically. ` +
      `The commit passes ${codeSpan('promshard validate')}; nothing else in the file changed.`,
  );
  if (input.dashboardUrl) out.push('', `Flag on the dashboard: ${inert(input.dashboardUrl)}`);
  out.push('', `<sub>Opened by ${codeSpan(`promshard fix ${flagKey(flag.id)} --open-pr`)} for flag ${codeSpan(flag.id)}.</sub>`);
  return out.join('\n') + '\n';
}
