#!/usr/bin/env node
// Bundles the CI commands into dist/promshard-ci.mjs (run by `npm ci` through the prepare script).
// Only validate/plan/render use it; the bin falls back to the TypeScript sources whenever a source
// file is newer than the bundle, so a stale bundle is never run.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  entryPoints: [`${root}/cli/ci-main.ts`],
  outfile: `${root}/dist/promshard-ci.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  // The lazily imported server commands stay out of the CI bundle.
  external: ['../central-controller/*', '../shard-agent/*', '../demo/*'],
});
