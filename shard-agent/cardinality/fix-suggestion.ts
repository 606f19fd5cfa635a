// The fix proposed with a flag: `metric_relabel_configs` rules ready to paste into the job of the
// team file, plus the PromQL that measures how many series the rules would leave (so the estimate is
// computed by Prometheus over the current series, not guessed).
//
//   - URL paths with id segments  → `replace` rules that rewrite each id segment to `:id` (one rule
//     per id segment seen in the sample, at most 4; each rule rewrites the last remaining id segment).
//   - everything else (ids, unique-per-series values, growth, plain high counts) → `labeldrop`.
import { stringify } from 'yaml';
import { RE2JS } from 're2js';
import type { RelabelConfig } from '../../schemas/model.ts';
import type { CardinalityFix, ValuePattern } from '../../core/protocol/cardinality-flag.ts';

export const RELABEL_KEYS: ReadonlySet<string> = new Set([
  'source_labels',
  'separator',
  'regex',
  'modulus',
  'target_label',
  'replacement',
  'action',
]);
const ACTIONS = new Set(['replace', 'keep', 'drop', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase', 'keepequal', 'dropequal']);
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** An identifier path segment: number, uuid, long hex, ulid (RE2 syntax). */
export const ID_SEGMENT_RE2 =
  '[0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{12,}|[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}';
/** Matches a path and captures what is around its last id segment. */
export const PATH_ID_REGEX = `(.*/)(?:${ID_SEGMENT_RE2})(/.*|[?#].*)?`;
export const MAX_PATH_RULES = 4;

export interface FixPlan {
  kind: 'labeldrop' | 'replace';
  rules: RelabelConfig[];
  /** PromQL returning one sample: the metric's series count after the rules. */
  afterQuery: string;
  note: string;
}

/** Throws when a rule would not be accepted by promshard's team-file format or by Prometheus. */
export function validateRules(rules: readonly RelabelConfig[]): void {
  for (const [i, rule] of rules.entries()) {
    for (const key of Object.keys(rule)) if (!RELABEL_KEYS.has(key)) throw new Error(`rule ${i}: key ${key} not allowed`);
    if (rule.action !== undefined && !ACTIONS.has(rule.action)) throw new Error(`rule ${i}: unknown action ${rule.action}`);
    if (rule.target_label !== undefined && !LABEL_NAME.test(rule.target_label)) throw new Error(`rule ${i}: bad target_label`);
    for (const l of rule.source_labels ?? []) if (!LABEL_NAME.test(l)) throw new Error(`rule ${i}: bad source label ${l}`);
    if (rule.regex !== undefined) RE2JS.compile(`^(?:${rule.regex})$`); // throws on RE2-invalid syntax
  }
}

export function planFix(input: { label: string; selector: string; pattern: ValuePattern | null; patternShare: number; maxIdSegments: number }): FixPlan {
  const { label, selector } = input;
  const L = label;
  if (input.pattern === 'url-path-id' && input.patternShare >= 0.5) {
    const n = Math.max(1, Math.min(MAX_PATH_RULES, input.maxIdSegments));
    const rules: RelabelConfig[] = [];
    for (let i = 0; i < n; i++)
      rules.push({ source_labels: [L], regex: PATH_ID_REGEX, target_label: L, replacement: '${1}:id${2}', action: 'replace' });
    // The same rewrite in PromQL: copy the label, rewrite the copy n times, then count series without the original.
    let expr = `label_replace(${selector}, "promshard_fix", "$1", ${JSON.stringify(L)}, "(.*)")`;
    for (let i = 0; i < n; i++) expr = `label_replace(${expr}, "promshard_fix", "\${1}:id\${2}", "promshard_fix", ${JSON.stringify(PATH_ID_REGEX)})`;
    return {
      kind: 'replace',
      rules,
      afterQuery: `count(count without (${L}) (${expr}))`,
      note: `Rewrites id segments of ${L} to ":id" (${n} rule${n > 1 ? 's' : ''}, one per id segment). Better still: have the exporter use the route template.`,
    };
  }
  return {
    kind: 'labeldrop',
    rules: [{ action: 'labeldrop', regex: L }],
    afterQuery: `count(count without (${L}) (${selector}))`,
    note:
      `Drops ${L} from every metric of the job. Series that differed only by ${L} collapse into one: ` +
      'Prometheus keeps the first sample per scrape and counts the rest as duplicates, so fix the exporter too ' +
      '(aggregate before exposing, or record the id in logs/traces instead).',
  };
}

/** The YAML shown to the team: a commented `metric_relabel_configs:` block. */
export function renderSnippet(input: { job: string; metric: string; label: string; file: string; rules: RelabelConfig[]; seriesBefore: number; seriesAfter: number }): string {
  const saved = Math.max(0, input.seriesBefore - input.seriesAfter);
  const head =
    `# promshard cardinality fix: job "${input.job}", metric ${input.metric}, label ${input.label}\n` +
    (input.file ? `# add under the job in ${input.file}\n` : '') +
    `# estimated series saved: ${saved} (${input.seriesBefore} -> ${input.seriesAfter} for this metric)\n`;
  return head + stringify({ metric_relabel_configs: input.rules }, { lineWidth: 0 });
}

export function buildFix(plan: FixPlan, ctx: { job: string; metric: string; label: string; file: string; seriesBefore: number; seriesAfter: number }): CardinalityFix {
  validateRules(plan.rules);
  return {
    kind: plan.kind,
    rules: plan.rules,
    snippet: renderSnippet({ ...ctx, rules: plan.rules }),
    estimatedSeriesSaved: Math.max(0, ctx.seriesBefore - ctx.seriesAfter),
    seriesBefore: ctx.seriesBefore,
    seriesAfter: ctx.seriesAfter,
    note: plan.note,
  };
}
