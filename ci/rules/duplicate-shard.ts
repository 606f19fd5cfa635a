// duplicate-shard: a shard name declared twice in shards.yaml. Team files pick their shard by name, so
// the second entry could never be chosen; its budget, limits and labels would silently not apply.
import type { Rule } from '../../core/compiler/rule.ts';
import { isRecord } from './walk.ts';
import { placeOf, quote } from './format.ts';

export const duplicateShard: Rule = {
  id: 'duplicate-shard',
  severity: 'error',
  summary: 'A shard name declared twice in shards.yaml; the second entry would be ignored.',
  scope: 'file',
  check(ctx) {
    const file = ctx.repo.shardsFile;
    if (!file || !isRecord(file.data) || !Array.isArray(file.data.shards)) return;
    const first = new Map<string, number>();
    file.data.shards.forEach((s, i) => {
      if (!isRecord(s) || typeof s.name !== 'string') return;
      const prior = first.get(s.name);
      if (prior === undefined) {
        first.set(s.name, i);
        return;
      }
      const priorPath = ['shards', prior, 'name'];
      ctx.report({
        file: file.path,
        path: ['shards', i, 'name'],
        message: `shard ${quote(s.name)} is already declared at ${placeOf(file, priorPath)}`,
        hint: 'merge the two entries into one, or give this shard another name',
        related: [{ file: file.path, path: priorPath, message: `first declaration of shard ${quote(s.name)}` }],
      });
    });
  },
};
