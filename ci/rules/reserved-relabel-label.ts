// reserved-relabel-label: a relabel rule that reads or writes a label starting with `__tmp_promshard_`.
// promshard keeps those for itself: a split shard's documents start every job's relabel_configs with
// a hashmod into `__tmp_promshard_hash` and a keep on it (core/render/render-prometheus-config.ts).
// Because that pair comes first, no later rule can bring back a target it dropped; the prefix is
// reserved so that a team rule never depends on promshard's internal labels, whose meaning and
// position promshard may change (resharding, issue 15 item 3, will need more of them).
import type { Rule } from '../../core/compiler/rule.ts';
import { RESERVED_LABEL_PREFIX } from '../../core/document/split-name.ts';
import { forEachRelabelRule } from './relabel-walk.ts';
import { quote } from './format.ts';

export const reservedRelabelLabel: Rule = {
  id: 'reserved-relabel-label',
  severity: 'error',
  summary: `A relabel rule that reads or writes a label starting with ${RESERVED_LABEL_PREFIX}, which promshard keeps for its own steps (splits).`,
  scope: 'file',
  check(ctx) {
    forEachRelabelRule(ctx.repo, ({ file, owner, list, index, rule, path }) => {
      const report = (at: (string | number)[], label: string) =>
        ctx.report({
          file: file.path,
          path: [...path, ...at],
          message: `${list}[${index}] of ${owner}: label ${quote(label)} starts with ${RESERVED_LABEL_PREFIX}, which is reserved for promshard (it splits targets with it)`,
          hint: 'use a label of your own for temporary values, e.g. __tmp_<team>_<name>',
        });
      if (Array.isArray(rule.source_labels)) {
        rule.source_labels.forEach((label, i) => {
          if (typeof label === 'string' && label.startsWith(RESERVED_LABEL_PREFIX)) report(['source_labels', i], label);
        });
      }
      if (typeof rule.target_label === 'string' && rule.target_label.startsWith(RESERVED_LABEL_PREFIX)) report(['target_label'], rule.target_label);
    });
  },
};
