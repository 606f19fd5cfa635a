// schema: wrong types, missing required keys, values outside the allowed set — everything the JSON
// Schema says except unknown keys (reported by unknown-key with a suggestion).
import type { Rule } from '../../core/compiler/rule.ts';
import { schemaErrorsOf, pathOfInstance, describePath } from '../../core/compiler/schema-validator.ts';
import type { ErrorObject } from 'ajv';
import { INLINE_SECRET_KEYS } from './secret-keys.ts';

function messageOf(err: ErrorObject): string | undefined {
  const p = err.params as Record<string, unknown>;
  const where = describePath(pathOfInstance(err.instancePath));
  switch (err.keyword) {
    case 'required':
      // basic_auth: {password: …} lacks password_file; no-inline-secrets says so with the fix.
      if (hasInlineSecretFor(err.data, String(p.missingProperty))) return undefined;
      return `${where} is missing the required key "${p.missingProperty}"`;
    case 'type':
      return `${where} must be ${article(String(p.type))}, not ${kindOf(err.data)}`;
    case 'enum':
      return `${where} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(err.data)}`;
    case 'pattern':
      return `${where} ${JSON.stringify(err.data)} does not match the required pattern ${p.pattern}`;
    case 'minItems':
      return `${where} must have at least ${p.limit} item(s)`;
    case 'minLength':
      return `${where} must not be empty`;
    case 'minimum':
    case 'maximum':
      return `${where} must be ${err.keyword === 'minimum' ? '>=' : '<='} ${p.limit}, not ${JSON.stringify(err.data)}`;
    case 'minProperties':
      return `${where} must set at least one of its keys`;
    case 'additionalProperties':
      return undefined; // unknown-key reports these
    case 'if':
    case 'anyOf':
    case 'oneOf':
      return undefined; // their branch errors are reported individually
    default:
      return `${where} ${err.message}`;
  }
}

function hasInlineSecretFor(data: unknown, missing: string): boolean {
  if (typeof data !== 'object' || data === null || !missing.endsWith('_file')) return false;
  return Object.keys(data).some((k) => Object.prototype.hasOwnProperty.call(INLINE_SECRET_KEYS, k) && INLINE_SECRET_KEYS[k].endsWith(missing));
}

function article(type: string): string {
  const t = type === 'integer' ? 'whole number' : type === 'object' ? 'mapping' : type === 'array' ? 'list' : type;
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

export const schema: Rule = {
  id: 'schema',
  severity: 'error',
  summary: 'The file does not have the shape the format requires: a wrong type, a missing required key, a value outside the allowed set.',
  scope: 'file',
  check(ctx) {
    for (const file of [ctx.repo.shardsFile, ...ctx.repo.teamFiles]) {
      if (!file) continue;
      const seen = new Set<string>();
      for (const err of schemaErrorsOf(file)) {
        const message = messageOf(err);
        if (!message || seen.has(message)) continue;
        seen.add(message);
        ctx.report({ file: file.path, path: pathOfInstance(err.instancePath), message });
      }
    }
  },
};
