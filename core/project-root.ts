// The project's root folder (where package.json lives), found by walking up from this module. Works
// both from the TypeScript sources and from the bundle in dist/, which sit at different depths.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function projectRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'promshard') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the promshard project root (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
