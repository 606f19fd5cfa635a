// unknown-key: a key the schema does not define (usually a typo: `intervall`). Suggests the closest key.
import type { Rule } from '../../core/compiler/rule.ts';
import { schemaErrorsOf, pathOfInstance, describePath } from '../../core/compiler/schema-validator.ts';
import { didYouMean } from './did-you-mean.ts';
import { INLINE_SECRET_KEYS } from './secret-keys.ts';

export const unknownKey: Rule = {
  id: 'unknown-key',
  severity: 'error',
  summary: 'A key that the file format does not define, usually a typo; promshard suggests the closest key.',
  scope: 'file',
  check(ctx) {
    for (const file of [ctx.repo.shardsFile, ...ctx.repo.teamFiles]) {
      if (!file) continue;
      for (const err of schemaErrorsOf(file)) {
        if (err.keyword !== 'additionalProperties') continue;
        const key = String((err.params as { additionalProperty: string }).additionalProperty);
        if (Object.prototype.hasOwnProperty.call(INLINE_SECRET_KEYS, key)) continue;
        const allowed = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        const where = pathOfInstance(err.instancePath);
        ctx.report({
          file: file.path,
          path: [...where, key],
          onKey: true,
          message: `unknown key "${key}" in ${describePath(where)}${didYouMean(key, allowed)}`,
          hint: allowed.length ? `allowed keys: ${allowed.join(', ')}` : undefined,
        });
      }
    }
  },
};
