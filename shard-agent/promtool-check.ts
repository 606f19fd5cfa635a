// `promtool check config` on the new files before any of them reaches the config directory. The files
// are laid out in a scratch directory exactly as they will be, and every other top-level entry of the
// real config directory is symlinked in, so relative references (rule_files, credentials_file, ...)
// resolve the same way Prometheus will resolve them.
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MAIN_CONFIG_FILE } from '../core/document/desired-document.ts';
import { TEMP_MARKER } from './atomic-write.ts';
import type { ConfigLayout } from './config-paths.ts';

export type PromtoolVerdict = { ok: true; skipped?: string; ms: number } | { ok: false; error: string; ms: number };

export function promtoolAvailable(path: string | null | undefined): boolean {
  return !!path && existsSync(path);
}

/**
 * `syntaxOnly` adds promtool's `--syntax-only`: the configuration is parsed and validated, but files it
 * references (credentials_file, TLS certificates, rule files) are not required to exist on this
 * machine. For demos and test benches where those secrets are absent; production keeps the full check.
 */
export async function promtoolCheck(promtool: string, layout: ConfigLayout, files: readonly { path: string; content: string }[], scratchParent: string, timeoutMs = 30000, syntaxOnly = false): Promise<PromtoolVerdict> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const scratch = await fs.mkdtemp(join(scratchParent, 'promtool-'));
  try {
    const mainName = basename(layout.configFile);
    const shadowed = new Set<string>([mainName]);
    for (const f of files) {
      const rel = f.path === MAIN_CONFIG_FILE ? mainName : f.path;
      shadowed.add(rel.split('/')[0]);
      const dest = join(scratch, rel);
      await fs.mkdir(dirname(dest), { recursive: true });
      await fs.writeFile(dest, f.content);
    }
    for (const entry of await fs.readdir(layout.configDir).catch(() => [] as string[])) {
      if (shadowed.has(entry) || entry.startsWith(TEMP_MARKER)) continue;
      await fs.symlink(join(layout.configDir, entry), join(scratch, entry)).catch(() => undefined);
    }
    const result = await new Promise<{ code: number | null; out: string; spawnError?: NodeJS.ErrnoException }>((resolve) => {
      execFile(promtool, ['check', 'config', ...(syntaxOnly ? ['--syntax-only'] : []), join(scratch, mainName)], { timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
        if (e && typeof e.code === 'string') resolve({ code: null, out: '', spawnError: e });
        else resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    if (result.spawnError) return { ok: true, skipped: `promtool could not run: ${result.spawnError.message}`, ms: ms() };
    if (result.code === 0) return { ok: true, ms: ms() };
    // Show paths as they will be, not as the scratch directory's.
    const text = result.out.split(scratch + '/').join(layout.configDir + '/').trim();
    return { ok: false, error: `promtool check config failed: ${text}`, ms: ms() };
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}
