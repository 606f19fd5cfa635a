// Applies metric_relabel_configs rules to the values of one label the way Prometheus does, so that a
// suggested fix is checked before it is offered: RE2 via re2js (Go's semantics), anchored as
// `^(?:re)$`, and Go's `Regexp.Expand` for `$1`, `${1}`, `$name` and `$$` (a `$1x` means the group
// named `1x`, i.e. empty, exactly as in Prometheus).
//
// Only rules that read and write the one label can be simulated (replace/lowercase/uppercase with
// `source_labels: [label]` and `target_label: label`, and labeldrop/labelkeep); anything else throws,
// because the outcome would depend on other labels.
import type { RE2JS } from 're2js';
import { compileRelabelRegex } from '../../core/relabel/relabel-re2.ts';
import type { RelabelConfig } from '../../schemas/model.ts';

type Matcher = ReturnType<ReturnType<typeof RE2JS.compile>['matcher']>;

/** Go's `Regexp.Expand` of `template` with the groups of a successful match. */
export function expandTemplate(template: string, m: Matcher): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    if (template[i] === '{') {
      const close = template.indexOf('}', i + 1);
      const inner = close < 0 ? '' : template.slice(i + 1, close);
      if (/^\w+$/.test(inner)) {
        name = inner;
        i = close + 1;
      }
    } else {
      const w = /^\w+/.exec(template.slice(i));
      if (w) {
        name = w[0];
        i += name.length;
      }
    }
    if (name === undefined) {
      out += '$'; // malformed: Go keeps the `$` as text
      continue;
    }
    out += groupValue(m, name);
  }
  return out;
}

function groupValue(m: Matcher, name: string): string {
  try {
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      return n <= m.groupCount() ? (m.group(n) ?? '') : '';
    }
    return m.group(name) ?? '';
  } catch {
    return ''; // no such named group
  }
}

export interface CompiledRule {
  rule: RelabelConfig;
  apply(value: string | undefined): string | undefined;
}

export function compileRuleForLabel(label: string, rule: RelabelConfig): CompiledRule {
  const action = rule.action ?? 'replace';
  const re = compileRelabelRegex(rule.regex ?? '(.*)');
  const reads = (rule.source_labels ?? []).join(rule.separator ?? ';');
  const single = rule.source_labels?.length === 1 && rule.source_labels[0] === label && rule.target_label === label;
  switch (action) {
    case 'labeldrop':
      return { rule, apply: (v) => (re.matches(label) ? undefined : v) };
    case 'labelkeep':
      return { rule, apply: (v) => (re.matches(label) ? v : undefined) };
    case 'lowercase':
    case 'uppercase':
      if (!single) break;
      return { rule, apply: (v) => (v === undefined ? v : action === 'lowercase' ? v.toLowerCase() : v.toUpperCase()) };
    case 'replace': {
      if (!single) break;
      const replacement = rule.replacement ?? '$1';
      return {
        rule,
        apply: (v) => {
          const m = re.matcher(v ?? '');
          if (!m.matches()) return v;
          const res = expandTemplate(replacement, m);
          return res === '' ? undefined : res;
        },
      };
    }
  }
  throw new Error(`cannot simulate ${action} rule on ${label} alone (source_labels: [${reads}], target_label: ${rule.target_label ?? ''})`);
}

export interface SimulationResult {
  /** Distinct values of the label after the rules (a deleted label counts as none). */
  distinct: Set<string>;
  /** Input values the rules changed. */
  changed: number;
}

/**
 * Runs `rules` over `values` in order. Yields to the event loop every `chunk` values, so a large
 * label does not hold up the agent's HTTP server while a fix is checked.
 */
export async function simulateRules(label: string, rules: readonly RelabelConfig[], values: readonly string[], chunk = 2000): Promise<SimulationResult> {
  const compiled = rules.map((r) => compileRuleForLabel(label, r));
  const distinct = new Set<string>();
  let changed = 0;
  for (let i = 0; i < values.length; i++) {
    if (i > 0 && i % chunk === 0) await new Promise((r) => setImmediate(r));
    let v: string | undefined = values[i];
    for (const c of compiled) v = c.apply(v);
    if (v !== values[i]) changed++;
    if (v !== undefined) distinct.add(v);
  }
  return { distinct, changed };
}
