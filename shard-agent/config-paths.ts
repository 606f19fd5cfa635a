// File names arrive over the wire, so they are never trusted as paths. Each document path is mapped
// to a place inside the config directory, or refused.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { MAIN_CONFIG_FILE } from '../core/document/desired-document.ts';

export class UnsafePathError extends Error {}

export interface ConfigLayout {
  /** --config-file: what Prometheus reads; the document's `prometheus.yml` lands here. */
  configFile: string;
  /** Its directory: every other document file goes beneath it. */
  configDir: string;
}

export function configLayout(configFile: string): ConfigLayout {
  const abs = resolve(configFile);
  return { configFile: abs, configDir: dirname(abs) };
}

// Segments are checked one by one because `a/../../x` normalises to something that only looks harmless.
const SAFE_SEGMENT = /^[A-Za-z0-9_@+=,-][A-Za-z0-9._@+=,-]*$/;

/** Absolute target for a document path; throws UnsafePathError for anything that could escape the config directory. */
export function targetPathFor(layout: ConfigLayout, docPath: string): string {
  if (docPath === MAIN_CONFIG_FILE) return layout.configFile;
  if (typeof docPath !== 'string' || docPath.length === 0 || docPath.length > 255) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} is empty or too long`);
  if (isAbsolute(docPath) || docPath.startsWith('/') || /^[A-Za-z]:/.test(docPath)) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} is absolute`);
  if (docPath.includes('\\') || docPath.includes('\0')) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} contains a backslash or NUL`);
  const segments = docPath.split('/');
  for (const s of segments) {
    if (s === '..') throw new UnsafePathError(`file name ${JSON.stringify(docPath)} contains ".."`);
    if (!SAFE_SEGMENT.test(s)) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} has an unsafe segment ${JSON.stringify(s)}`);
  }
  const target = resolve(layout.configDir, ...segments);
  const rel = relative(layout.configDir, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} would land outside the config directory`);
  if (target === layout.configFile) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} would overwrite the main configuration file ${basename(layout.configFile)}`);
  // A symlinked subdirectory could still point elsewhere: compare the real location of the deepest existing parent.
  const realDir = realOrNull(layout.configDir) ?? layout.configDir;
  let parent = dirname(target);
  while (parent !== layout.configDir && realOrNull(parent) === null) parent = dirname(parent);
  const realParent = realOrNull(parent) ?? parent;
  if (realParent !== realDir && !realParent.startsWith(realDir + sep)) throw new UnsafePathError(`file name ${JSON.stringify(docPath)} would land outside the config directory (through a symlink)`);
  return target;
}

function realOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}
