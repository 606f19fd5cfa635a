// A small, strict flag parser: `--name value`, `--name=value` and boolean `--flag`. Unknown flags are usage errors.
import { parseArgs } from 'node:util';

export class UsageError extends Error {}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean }>;

export function parseFlags<T extends FlagSpec>(argv: string[], spec: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: spec, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
