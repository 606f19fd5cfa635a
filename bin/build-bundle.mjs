#!/usr/bin/env node
// Bundles the whole CLI into dist/promshard.mjs (one lazily loaded chunk per subcommand) (run by `npm ci` through the prepare script), so that
// CI commands start fast and long-running agents do not carry a TypeScript compiler in memory. The
// launcher falls back to the TypeScript sources whenever a source file is newer than the bundle.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}/cli/main.ts`],
  outdir: `${root}/dist`,
  entryNames: 'promshard',
  outExtension: { '.js': '.mjs' },
  // Each subcommand becomes its own chunk, loaded on demand: `validate` never loads express.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
});
