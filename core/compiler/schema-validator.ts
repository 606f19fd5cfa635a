// Compiles the JSON Schemas once per process and turns ajv errors into rule reports. Shared by the
// `schema` and `unknown-key` rules so each file is validated once.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import teamSchema from '../../schemas/team-file.schema.json' with { type: 'json' };
import shardsSchema from '../../schemas/shards.schema.json' with { type: 'json' };
import type { ParsedFile } from './rule.ts';

let validators: { team: ValidateFunction; shards: ValidateFunction } | undefined;

function compiled() {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false });
    ajv.addSchema(teamSchema as object, 'team-file.schema.json');
    ajv.addSchema(shardsSchema as object, 'shards.schema.json');
    validators = { team: ajv.getSchema('team-file.schema.json')!, shards: ajv.getSchema('shards.schema.json')! };
  }
  return validators;
}

// Keyed by the parsed data object (shared between compilations of identical text), per file kind.
const cache = { team: new WeakMap<object, ErrorObject[]>(), shards: new WeakMap<object, ErrorObject[]>() };

/** Schema errors of a file, computed once and shared by the rules that report them. */
export function schemaErrorsOf(file: ParsedFile): ErrorObject[] {
  const kindCache = cache[file.kind];
  const key = typeof file.data === 'object' && file.data !== null ? file.data : undefined;
  let errors = key ? kindCache.get(key) : undefined;
  if (!errors) {
    const v = file.kind === 'team' ? compiled().team : compiled().shards;
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
