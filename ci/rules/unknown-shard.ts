// unknown-shard: a team file names a shard that shards.yaml does not declare. Its jobs would be
// scraped by no Prometheus at all, so this is an error, with the closest shard name suggested.
import type { Rule } from '../../core/compiler/rule.ts';
import { isRecord, shardsByName } from './walk.ts';
import { closestMatch } from './did-you-mean.ts';
import { quote } from './format.ts';

export const unknownShard: Rule = {
  id: 'unknown-shard',
  severity: 'error',
  summary: "A team file's shard: is not declared in shards.yaml, so no Prometheus would scrape its jobs.",
  scope: 'file',
  check(ctx) {
    if (!ctx.repo.shardsFile) return; // file-layout reports the missing shards.yaml
    const shards = shardsByName(ctx.repo);
    const names = [...shards.keys()].sort();
    for (const file of ctx.repo.teamFiles) {
      if (!isRecord(file.data) || typeof file.data.shard !== 'string') continue;
      const shard = file.data.shard;
      if (shards.has(shard)) continue;
      const guess = closestMatch(shard, names);
      const listed = names.length > 10 ? `${names.slice(0, 10).join(', ')}, … (${names.length} in all)` : names.join(', ');
      ctx.report({
        file: file.path,
        path: ['shard'],
        message: `shard ${quote(shard)} is not declared in ${ctx.repo.shardsFile.path}${guess ? ` (did you mean "${guess}"?)` : ''}`,
        hint: guess
          ? `write shard: ${guess}`
          : names.length
            ? `declared shards: ${listed}; a new shard is added to ${ctx.repo.shardsFile.path} by the observability team`
            : `${ctx.repo.shardsFile.path} declares no shards`,
      });
    }
  },
};
