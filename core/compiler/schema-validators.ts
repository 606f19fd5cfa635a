// The JSON Schema validators of team files and shards.yaml, compiled by ajv when first asked for.
// The bundled CLI does not run this module: bin/build-bundle.mjs replaces it with the same validators
// compiled ahead of time (ajv's standalone code, schema-validators-standalone.ts), so `validate` neither
// loads ajv's compiler nor spends a third of its start-up generating code. Both come from the same
// schemas and options; test/compiler/schema-validators-standalone.test.ts checks that they agree.
import { Ajv2020, type Options } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import teamSchema from '../../schemas/team-file.schema.json' with { type: 'json' };
import shardsSchema from '../../schemas/shards.schema.json' with { type: 'json' };

export interface SchemaValidators {
  team: ValidateFunction;
  shards: ValidateFunction;
}

/** verbose: the rules read each error's data and parent schema; allErrors: every finding at once. */
export const SCHEMA_OPTIONS: Options = { allErrors: true, verbose: true, strict: false };

/** An ajv instance holding both schemas, under the ids they refer to each other by. */
export function ajvWithSchemas(extra: Options = {}): Ajv2020 {
  const ajv = new Ajv2020({ ...SCHEMA_OPTIONS, ...extra });
  ajv.addSchema(teamSchema as object, 'team-file.schema.json');
  ajv.addSchema(shardsSchema as object, 'shards.schema.json');
  return ajv;
}

let validators: SchemaValidators | undefined;

export function schemaValidators(): SchemaValidators {
  if (!validators) {
    const ajv = ajvWithSchemas();
    validators = { team: ajv.getSchema('team-file.schema.json')!, shards: ajv.getSchema('shards.schema.json')! };
  }
  return validators;
}
