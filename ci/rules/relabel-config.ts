// relabel-config: relabel rules that Prometheus 2.42 would refuse when loading the configuration
// (model/relabel: Config.UnmarshalYAML), plus two that are obviously wrong:
//   - unknown or empty action; the default action is replace;
//   - source_labels that are not label names;
//   - target_label missing for replace, hashmod, lowercase, uppercase, keepequal, dropequal;
//     invalid for them (replace & co accept `$1`/`${name}` templates, hashmod a plain label name);
//   - hashmod without modulus; replacement set on lowercase/uppercase/keepequal/dropequal;
//     labelmap with an invalid replacement;
//   - keepequal/dropequal with anything but source_labels and target_label;
//     labeldrop/labelkeep with anything but regex;
//   - obviously wrong (not refused by Prometheus): keep/drop without source_labels (the regex is
//     matched against an empty string, so it keeps or drops everything), and, as a warning, a
//     metric_relabel_configs rule reading __address__ or __meta_* labels, which no longer exist
//     after the scrape.
import type { Rule, ReportInput } from '../../core/compiler/rule.ts';
import { forEachRelabelRule } from './relabel-walk.ts';
import { didYouMean } from './did-you-mean.ts';
import { quote } from './format.ts';
import { isRelabelAction, RELABEL_ACTIONS } from '../../core/relabel/relabel-re2.ts';

export { RELABEL_ACTIONS };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Prometheus's relabelTarget: label names that may contain $1 / ${name} references. */
// Prometheus's relabelTarget, ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$, is linear in Go's RE2 but
// backtracks exponentially in JavaScript (a 40-character name ending in an invalid character hung the
// compiler, and with it CI and the controller). Same language, written so that the next character
// always decides the branch: a letter, "_" or $-reference first, then word characters or $-references.
const RELABEL_TARGET = /^(?:[a-zA-Z_]|\$(?:\{\w+\}|\w))(?:\w|\$(?:\{\w+\}|\w))*$/;
const WRITES_TARGET = new Set(['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal']);
const TEMPLATED_TARGET = new Set(['replace', 'lowercase', 'uppercase', 'keepequal', 'dropequal']);
const NO_REPLACEMENT = new Set(['lowercase', 'uppercase', 'keepequal', 'dropequal']);

export const relabelConfig: Rule = {
  id: 'relabel-config',
  severity: 'error',
  summary: 'A relabel rule Prometheus would refuse (unknown action, missing or invalid target_label, fields the action does not take), or one that is obviously wrong.',
  scope: 'file',
  check(ctx) {
    forEachRelabelRule(ctx.repo, ({ file, owner, list, index, rule, path }) => {
      const where = `${list}[${index}] of ${owner}`;
      const report = (r: Omit<ReportInput, 'file'>) => ctx.report({ file: file.path, ...r });
      let action = 'replace';
      if (rule.action !== undefined) {
        if (typeof rule.action !== 'string') return; // schema
        if (rule.action === '') {
          report({ path: [...path, 'action'], message: `${where}: action is empty`, hint: `remove it (the default is replace) or write one of ${RELABEL_ACTIONS.join(', ')}` });
          return;
        }
        action = rule.action.toLowerCase();
        if (!isRelabelAction(action)) {
          report({ path: [...path, 'action'], message: `${where}: unknown relabel action ${quote(rule.action)}${didYouMean(rule.action, RELABEL_ACTIONS)}`, hint: `actions: ${RELABEL_ACTIONS.join(', ')}` });
          return;
        }
      }
      const act = `action ${action}${rule.action === undefined ? ' (the default)' : ''}`;

      if (Array.isArray(rule.source_labels)) {
        rule.source_labels.forEach((l, i) => {
          if (typeof l === 'string' && !LABEL_NAME.test(l)) {
            report({ path: [...path, 'source_labels', i], message: `${where}: source label ${quote(l)} is not a valid label name`, hint: 'label names are letters, digits and "_", not starting with a digit' });
          }
        });
      }

      const target = typeof rule.target_label === 'string' ? rule.target_label : undefined;
      const targetSet = target !== undefined && target !== '';
      if (WRITES_TARGET.has(action) && !targetSet) {
        report({
          path: rule.target_label !== undefined ? [...path, 'target_label'] : path,
          message: `${where}: ${act} requires target_label`,
          hint: action === 'replace' ? 'set target_label to the label to write; to keep or drop targets, set action: keep or drop' : `set target_label to the label ${action} writes`,
        });
      } else if (targetSet && TEMPLATED_TARGET.has(action) && !RELABEL_TARGET.test(target)) {
        report({ path: [...path, 'target_label'], message: `${where}: ${quote(target)} is not a valid target_label for ${action}`, hint: 'a label name (letters, digits, "_"), optionally using $1 or ${1} from the regex' });
      } else if (targetSet && action === 'hashmod' && !LABEL_NAME.test(target)) {
        report({ path: [...path, 'target_label'], message: `${where}: ${quote(target)} is not a valid target_label for hashmod`, hint: 'hashmod writes a plain label name (letters, digits, "_"); templates are not expanded' });
      }

      if (action === 'hashmod' && (typeof rule.modulus !== 'number' || rule.modulus === 0)) {
        report({ path: rule.modulus !== undefined ? [...path, 'modulus'] : path, message: `${where}: hashmod requires a modulus greater than 0`, hint: 'set modulus to the number of buckets, for example modulus: 4' });
      }
      if (NO_REPLACEMENT.has(action) && rule.replacement !== undefined && rule.replacement !== '$1') {
        report({ path: [...path, 'replacement'], message: `${where}: replacement cannot be set for ${action}`, hint: `remove replacement; ${action} ${action.endsWith('equal') ? 'compares the source labels with target_label' : 'writes the converted source value to target_label'}` });
      }
      if (action === 'labelmap' && typeof rule.replacement === 'string' && !RELABEL_TARGET.test(rule.replacement)) {
        report({ path: [...path, 'replacement'], message: `${where}: ${quote(rule.replacement)} is not a valid replacement for labelmap`, hint: 'labelmap replacement is a label name template such as $1 or k8s_$1' });
      }
      if (action === 'keepequal' || action === 'dropequal') {
        const extra = [
          rule.regex !== undefined && 'regex',
          rule.modulus !== undefined && rule.modulus !== 0 && 'modulus',
          rule.separator !== undefined && rule.separator !== ';' && 'separator',
        ].filter((k): k is string => typeof k === 'string');
        for (const k of extra) report({ path: [...path, k], onKey: true, message: `${where}: ${action} takes only source_labels and target_label, not ${k}`, hint: `remove ${k}` });
      }
      if (action === 'labeldrop' || action === 'labelkeep') {
        const extra = [
          rule.source_labels !== undefined && 'source_labels',
          rule.target_label !== undefined && rule.target_label !== '' && 'target_label',
          rule.modulus !== undefined && rule.modulus !== 0 && 'modulus',
          rule.separator !== undefined && rule.separator !== ';' && 'separator',
          rule.replacement !== undefined && rule.replacement !== '$1' && 'replacement',
        ].filter((k): k is string => typeof k === 'string');
        for (const k of extra) report({ path: [...path, k], onKey: true, message: `${where}: ${action} takes only regex (matched against label names), not ${k}`, hint: `remove ${k}` });
      }
      if ((action === 'keep' || action === 'drop') && (!Array.isArray(rule.source_labels) || rule.source_labels.length === 0)) {
        report({
          path,
          message: `${where}: ${action} without source_labels matches regex against an empty string, so it ${action}s everything or nothing`,
          hint: `set source_labels to the labels to match, for example source_labels: [__name__]`,
        });
      }
      if (list === 'metric_relabel_configs') {
        const used = [...(Array.isArray(rule.source_labels) ? rule.source_labels : [])].filter((l): l is string => typeof l === 'string' && (l === '__address__' || l.startsWith('__meta_')));
        for (const l of used) {
          report({
            path: [...path, 'source_labels'],
            severity: 'warning',
            message: `${where}: ${quote(l)} does not exist after the scrape; metric_relabel_configs only see the stored labels`,
            hint: 'move this rule to relabel_configs, or copy the label to a target label there first',
          });
        }
      }
    });
  },
};
