// Every rule, in the order they run. Add a rule: create ci/rules/<id>.ts, list it here, document it
// in docs/rules.md, and test it both ways in test/rules/.
import type { Rule } from './rule.ts';
import { fileUnreadable, yamlSyntax, fileLayout } from './loader-rules.ts';
import { schema } from './schema.ts';
import { unknownKey } from './unknown-key.ts';

export const ALL_RULES: readonly Rule[] = [fileUnreadable, fileLayout, yamlSyntax, schema, unknownKey];

export function ruleById(id: string): Rule | undefined {
  return ALL_RULES.find((r) => r.id === id);
}
