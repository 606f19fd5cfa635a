#!/usr/bin/env node
// Bundles the whole CLI into dist/promshard.mjs (one lazily loaded chunk per subcommand) (run by `npm ci` through the prepare script), so that
// CI commands start fast and long-running agents do not carry a TypeScript compiler in memory. The
// launcher falls back to the TypeScript sources whenever a source file is newer than the bundle.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// Both builds: Node 20 ESM, dependencies left to node_modules.
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' };

// The JSON Schema validators, compiled ahead of time: the bundle carries ajv's standalone code in place
// of core/compiler/schema-validators.ts, so no CLI run loads ajv's compiler or generates code.
const generator = `${root}/dist/.schema-validators-standalone.mjs`;
await build({
  entryPoints: [`${root}/core/compiler/schema-validators-standalone.ts`],
  outfile: generator,
  ...common,
});
let standaloneValidators;
try {
  standaloneValidators = (await import(`${pathToFileURL(generator).href}?t=${Date.now()}`)).standaloneSchemaValidatorsCode();
} finally {
  rmSync(generator, { force: true });
}
const precompiledSchemas = {
  name: 'precompiled-schema-validators',
  setup(b) {
    b.onLoad({ filter: /[\\/]core[\\/]compiler[\\/]schema-validators\.ts$/ }, () => ({ contents: standaloneValidators, loader: 'js', resolveDir: `${root}/core/compiler` }));
  },
};

await build({
  entryPoints: [`${root}/cli/main.ts`],
  outdir: `${root}/dist`,
  entryNames: 'promshard',
  outExtension: { '.js': '.mjs' },
  // Each subcommand becomes its own chunk, loaded on demand: `validate` never loads express.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  ...common,
  plugins: [precompiledSchemas],
});
