// The source of an ES module that stands in for schema-validators.ts in the bundle: the same
// validators as ajv compiles at run time, generated once at build time (bin/build-bundle.mjs).
import standalone from 'ajv/dist/standalone/index.js';
import { ajvWithSchemas } from './schema-validators.ts';

export function standaloneSchemaValidatorsCode(): string {
  const ajv = ajvWithSchemas({ code: { source: true, esm: true } });
  // A CommonJS module: its default import is module.exports, which carries the function as `.default` too.
  let code = standalone.default(ajv, { team: 'team-file.schema.json', shards: 'shards.schema.json' });
  // ajv's generated code requires its small runtime helpers (ucs2length for minLength); an ES module imports them.
  const imports: string[] = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)/g, (_: string, mod: string) => {
    const name = `__ajvRuntime${imports.length}`;
    imports.push(`import ${name} from "${mod}.js";`);
    return name;
  });
  if (/\brequire\(/.test(code)) throw new Error('ajv standalone code requires a module that is not one of its runtime helpers');
  return `${imports.join('\n')}\n${code}\nlet validators;\nexport function schemaValidators() {\n  return (validators ??= { team, shards });\n}\n`;
}
