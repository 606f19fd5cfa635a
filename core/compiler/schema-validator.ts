// Validates files against the JSON Schemas (schema-validators.ts) and turns ajv errors into rule
// reports. Shared by the `schema` and `unknown-key` rules so each file is validated once.
import type { ErrorObject } from 'ajv';
import type { ParsedFile } from './rule.ts';
import { schemaValidators } from './schema-validators.ts';

// Keyed by the parsed data object (shared between compilations of identical text), per file kind.
const cache = { team: new WeakMap<object, ErrorObject[]>(), shards: new WeakMap<object, ErrorObject[]>() };

/** Schema errors of a file, computed once and shared by the rules that report them. */
export function schemaErrorsOf(file: ParsedFile): ErrorObject[] {
  const kindCache = cache[file.kind];
  const key = typeof file.data === 'object' && file.data !== null ? file.data : undefined;
  let errors = key ? kindCache.get(key) : undefined;
  if (!errors) {
    const v = file.kind === 'team' ? schemaValidators().team : schemaValidators().shards;
    errors = v(file.data) ? [] : [...(v.errors ?? [])];
    if (key) kindCache.set(key, errors);
  }
  return errors;
}

export function pathOfInstance(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the file';
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}
