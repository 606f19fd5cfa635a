#!/usr/bin/env node
// Launcher. Runs the prebuilt bundle (dist/promshard.mjs, built by `npm ci`) when it is newer than
// every source file: fast start-up and no TypeScript compiler in memory. Otherwise, and whenever
// PROMSHARD_NO_BUNDLE is set, it runs the TypeScript sources through tsx, so a stale bundle never runs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

// validate, plan and render keep everything they parse until they exit, so nearly every object
// survives its first garbage collection; letting V8 grow the young generation then only makes each
// collection copy more. Kept at its initial size (set before anything is allocated), validate on the
// bench repository peaks at about 86 MiB instead of 120, and spends less CPU (docs/benchmarks.md).
// Node warns that V8 flags set at run time may misbehave; this one only caps how far the young
// generation grows (other GC flags, such as --single-threaded-gc, crash V8 when set this late).
if (['validate', 'plan', 'render'].includes(process.argv[2] ?? '')) setFlagsFromString('--semi-space-growth-factor=1');

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = join(root, 'dist', 'promshard.mjs');
const SOURCE_DIRS = ['cli', 'ci', 'core', 'schemas', 'central-controller', 'shard-agent', 'demo'];

function newestSourceMtime() {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(root, d))) walk(join(root, d));
  return newest;
}

let main;
if (!process.env.PROMSHARD_NO_BUNDLE && existsSync(bundle) && statSync(bundle).mtimeMs > newestSourceMtime()) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
