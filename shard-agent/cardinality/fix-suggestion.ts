// The fix proposed with a flag: `metric_relabel_configs` rules ready to paste into the job of the
// team file, checked before they are offered.
//
//   - URL-like values (paths, URLs) → `replace` rules that rewrite every id segment to `:id` and strip
//     query strings (path-normalisation.ts), computed from all of the label's current values.
//   - everything else (ids, unique-per-series values, growth, plain high counts), or paths the rewrite
//     would not shrink → `labeldrop`.
//
// Every suggestion is simulated on the label's current values (relabel-simulation.ts) to report the
// residual cardinality; rules the job already runs are left out; and the snippet holds the job's whole
// resulting list, so it replaces the job's `metric_relabel_configs` key instead of adding a second one.
import { Document, isMap, isSeq, visit } from 'yaml';
import type { RelabelConfig } from '../../schemas/model.ts';
import type { CardinalityFix } from '../../core/protocol/cardinality-flag.ts';
import { RELABEL_KEY_ORDER, sameRule } from '../../core/relabel/job-relabel-rules.ts';
import { compileRelabelRegex, isRelabelAction } from '../../core/relabel/relabel-re2.ts';
import { isPathLike, planPathRules } from './path-normalisation.ts';
import { simulateRules } from './relabel-simulation.ts';
import { truncateExample } from './value-classifier.ts';

export const RELABEL_KEYS: ReadonlySet<string> = new Set(RELABEL_KEY_ORDER);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Share of values that must be paths or URLs for the rewrite to be tried. */
export const PATH_SHARE = 0.5;
/** At most this many residual values are shown as examples. */
const RESIDUAL_EXAMPLES = 3;

export interface FixPlan {
  kind: 'labeldrop' | 'replace';
  /** The rules to add (never one the job already runs). */
  rules: RelabelConfig[];
  /** The job's rules as they run now (normalised), or [] when none or unknown. */
  existing: RelabelConfig[];
  /** Whether `existing` is known (Prometheus's loaded configuration could be read). */
  existingKnown: boolean;
  /** PromQL returning one sample: the metric's series count after the rules. */
  afterQuery: string;
  /** Distinct values of the label after the rules, over the values examined. */
  residual: string[];
  valuesExamined: number;
  note: string;
}

/** Throws when a rule would not be accepted by promshard's team-file format or by Prometheus. */
export function validateRules(rules: readonly RelabelConfig[]): void {
  for (const [i, rule] of rules.entries()) {
    for (const key of Object.keys(rule)) if (!RELABEL_KEYS.has(key)) throw new Error(`rule ${i}: key ${key} not allowed`);
    if (rule.action !== undefined && !isRelabelAction(rule.action)) throw new Error(`rule ${i}: unknown action ${rule.action}`);
    if (rule.target_label !== undefined && !LABEL_NAME.test(rule.target_label)) throw new Error(`rule ${i}: bad target_label`);
    for (const l of rule.source_labels ?? []) if (!LABEL_NAME.test(l)) throw new Error(`rule ${i}: bad source label ${l}`);
    if (rule.regex !== undefined) compileRelabelRegex(rule.regex); // throws on RE2-invalid syntax
  }
}

/** The same rewrite in PromQL: copy the label, rewrite the copy rule by rule, count series without the original. */
function replaceAfterQuery(label: string, selector: string, rules: readonly RelabelConfig[]): string {
  // A copy is needed: label_replace over the label itself would fail with "vector cannot contain
  // metrics with the same labelset" as soon as two series collapse.
  let expr = `label_replace(${selector}, "promshard_fix", "$1", ${JSON.stringify(label)}, "(.*)")`;
  for (const r of rules) expr = `label_replace(${expr}, "promshard_fix", ${JSON.stringify(r.replacement ?? '$1')}, "promshard_fix", ${JSON.stringify(r.regex ?? '(.*)')})`;
  return `count(count without (${label}) (${expr}))`;
}

function labeldropPlan(label: string, selector: string, existing: RelabelConfig[], existingKnown: boolean, valuesExamined: number): FixPlan {
  const rule: RelabelConfig = { action: 'labeldrop', regex: label };
  const present = existing.some((e) => sameRule(e, rule));
  return {
    kind: 'labeldrop',
    rules: present ? [] : [rule],
    existing,
    existingKnown,
    afterQuery: `count(count without (${label}) (${selector}))`,
    residual: [],
    valuesExamined,
    note:
      `Drops ${label} from every metric of the job. Series that differed only by ${label} collapse into one: ` +
      'Prometheus keeps the first sample per scrape and counts the rest as duplicates, so fix the exporter too ' +
      '(aggregate before exposing, or record the id in logs/traces instead).',
  };
}

/**
 * Chooses, checks and explains the fix for `label`, given its current values (all of them, or as many
 * as were fetched) and the job's current rules (null when they could not be read).
 */
export async function planFix(input: { label: string; selector: string; values: readonly string[]; existing: readonly RelabelConfig[] | null }): Promise<FixPlan> {
  const { label, selector, values } = input;
  const existing = [...(input.existing ?? [])];
  const existingKnown = input.existing !== null;
  const paths = values.filter(isPathLike).length;
  if (values.length && paths / values.length >= PATH_SHARE) {
    const plan = planPathRules(label, values);
    const rules = plan.rules.filter((r) => !existing.some((e) => sameRule(e, r)));
    if (rules.length) {
      const sim = await simulateRules(label, rules, values);
      if (sim.distinct.size < new Set(values).size) {
        const n = plan.positions.length - plan.positionsLeftOut;
        const what = [n ? `rewrites the id segments of ${label} to ":id" (${n} position${n > 1 ? 's' : ''})` : '', plan.withQuery ? 'strips query strings and fragments' : '']
          .filter(Boolean)
          .join(' and ');
        return {
          kind: 'replace',
          rules,
          existing,
          existingKnown,
          afterQuery: replaceAfterQuery(label, selector, rules),
          residual: [...sim.distinct],
          valuesExamined: values.length,
          note:
            `${what[0]!.toUpperCase()}${what.slice(1)}. Each rule handles one path position and is idempotent, so it is safe to keep ` +
            'all of them. Better still: have the exporter use the route template.',
        };
      }
    }
  }
  return labeldropPlan(label, selector, existing, existingKnown, values.length);
}

export interface FixContext {
  job: string;
  metric: string;
  label: string;
  /** Team file (relative to the folder that holds shards.yaml) and the job's line; "" / 0 when unknown. */
  file: string;
  line: number;
  seriesBefore: number;
  seriesAfter: number;
  /** Distinct values of the label now. */
  distinctValues: number;
  /** False when the residual would still be flagged. */
  complete: boolean;
  /** The bar the residual is compared with (the lowest bar that still applies to it). */
  residualBar: number;
}

/** The YAML shown to the team: the job's whole resulting `metric_relabel_configs:` list, commented. */
export function renderSnippet(plan: FixPlan, ctx: FixContext): string {
  const saved = Math.max(0, ctx.seriesBefore - ctx.seriesAfter);
  const where = ctx.file ? `${ctx.file}${ctx.line ? `, job "${ctx.job}" at line ${ctx.line}` : `, job "${ctx.job}"`}` : `the team file of job "${ctx.job}"`;
  const lines = [`# promshard cardinality fix: job "${ctx.job}", metric ${ctx.metric}, label ${ctx.label}`];
  if (plan.existing.length)
    lines.push(
      `# in ${where}: REPLACE the job's metric_relabel_configs with this list`,
      `# (its ${plan.existing.length} current rule${plan.existing.length > 1 ? 's' : ''} first, unchanged and in order, then ${plan.rules.length} new)`,
    );
  else lines.push(`# add under the job in ${where}${plan.existingKnown ? '' : ' (if the job already has metric_relabel_configs, add these rules at the end of that list)'}`);
  lines.push(`# estimated series saved: ${saved} (${ctx.seriesBefore} -> ${ctx.seriesAfter} for this metric)`);
  const residual = plan.residual.length;
  const basis = plan.valuesExamined < ctx.distinctValues ? `checked on ${plan.valuesExamined} of ${ctx.distinctValues} values` : `checked on all ${plan.valuesExamined} current values`;
  lines.push(
    ctx.complete
      ? `# after the fix: ${residual} distinct value${residual === 1 ? '' : 's'} of ${ctx.label} (${basis}): complete`
      : `# PARTIAL FIX: ${residual} distinct values of ${ctx.label} remain (${basis}), above the bar of ${ctx.residualBar}`,
  );
  const doc = new Document({ metric_relabel_configs: [...plan.existing, ...plan.rules] });
  visit(doc, { Pair: (_, pair) => void (isSeq(pair.value) && (pair.value.flow = (pair.key as { value?: unknown })?.value === 'source_labels')) });
  // Mark where the new rules start, so a reviewer sees what changed.
  const seq = isMap(doc.contents) ? doc.contents.get('metric_relabel_configs', true) : null;
  if (isSeq(seq) && plan.existing.length && plan.rules.length) {
    const first = seq.items[plan.existing.length] as { commentBefore?: string | null } | undefined;
    if (first) first.commentBefore = ' new (promshard cardinality fix):';
  }
  return lines.join('\n') + '\n' + doc.toString({ lineWidth: 0 });
}

export function buildFix(plan: FixPlan, ctx: FixContext): CardinalityFix {
  validateRules(plan.rules);
  const residual = plan.residual.length;
  const partialNote = ctx.complete
    ? ''
    : ` PARTIAL: ${residual} distinct values would remain, above the bar of ${ctx.residualBar}, so the flag would stay raised` +
      (plan.kind === 'replace' ? `; to remove the explosion entirely, drop the label instead (- action: labeldrop, regex: ${ctx.label}).` : '.');
  return {
    kind: plan.kind,
    rules: plan.rules,
    resultingRules: [...plan.existing, ...plan.rules],
    existingRules: plan.existing.length,
    snippet: renderSnippet(plan, ctx),
    estimatedSeriesSaved: Math.max(0, ctx.seriesBefore - ctx.seriesAfter),
    seriesBefore: ctx.seriesBefore,
    seriesAfter: ctx.seriesAfter,
    residualValues: residual,
    valuesExamined: plan.valuesExamined,
    complete: ctx.complete,
    residualExamples: plan.residual.slice(0, RESIDUAL_EXAMPLES).map((v) => truncateExample(v)),
    note: plan.note + partialNote,
  };
}
