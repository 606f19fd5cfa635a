// Benchmark: `promshard validate` on a 5,000-file / 50,000-target / 200-shard repository, against
// `promtool check config` over every rendered shard of the same repository; `plan` for a one-file
// change; `render` of all shards. Each promshard figure is a fresh CLI process, as CI runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_SHAPE, generateRepository, teamFilePath, teamFileText } from './support/generate-repository.ts';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/promshard.mjs', import.meta.url));
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Runs a command under /usr/bin/time-like accounting: wall ms and peak RSS (MiB) of the child tree. */
function timed(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/env', ['bash', '-c', 'command time -f "%M" "$@" 2>/tmp/promshard-bench-time >/dev/null; echo $?', '_', cmd, ...args], { cwd: opts.cwd, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  let peakMiB = NaN;
  try {
    const lines = execFileSync('cat', ['/tmp/promshard-bench-time'], { encoding: 'utf8' }).trim().split('\n');
    peakMiB = Number(lines[lines.length - 1]) / 1024;
  } catch {}
  return { wallMs, peakMiB, exit: Number(r.stdout.trim()) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function runValidateBench(runs = 3): Promise<Record<string, number | string>> {
  const hasTime = spawnSync('bash', ['-c', 'command -v time && test -x /usr/bin/time']).status === 0;
  if (!hasTime) throw new Error('GNU time (/usr/bin/time) is needed: apt-get install -y time');
  const work = mkdtempSync(join(tmpdir(), 'promshard-bench-validate-'));
  const repo = join(work, 'repo');
  try {
    generateRepository(repo);
    const git = (...a: string[]) => execFileSync('git', ['-C', repo, ...a], { stdio: 'pipe' });
    git('init', '-q');
    git('add', '-A');
    git('-c', 'user.name=bench', '-c', 'user.email=bench@local', 'commit', '-qm', 'generated');
    // Warm tsx's transform cache once so the figures are the steady state a CI runner sees after its first run.
    timed('node', [BIN, 'validate', '--repo', repo]);

    const validate = Array.from({ length: runs }, () => timed('node', [BIN, 'validate', '--repo', repo]));
    if (validate[0].exit !== 0) throw new Error(`validate of the generated repository failed (exit ${validate[0].exit})`);

    const out = join(work, 'rendered');
    const render = timed('node', [BIN, 'render', '--repo', repo, '--out', out]);
    const shards = readdirSync(out);

    const promtoolStart = performance.now();
    let promtoolPeak = 0;
    for (const s of shards) {
      const r = timed(PROMTOOL, ['check', 'config', join(out, s, 'prometheus.yml')]);
      if (r.exit !== 0) throw new Error(`promtool refused shard ${s}`);
      promtoolPeak = Math.max(promtoolPeak, r.peakMiB);
    }
    const promtoolMs = performance.now() - promtoolStart;

    // One-file change: add two targets to one file and commit it.
    writeFileSync(join(repo, teamFilePath(42)), teamFileText(42, BENCH_SHAPE, ['new-a.dc0.internal:9100', 'new-b.dc0.internal:9100']));
    git('-c', 'user.name=bench', '-c', 'user.email=bench@local', 'commit', '-qam', 'one-file change');
    // A CI checkout is a clone, whose objects are packed; 5,000 loose objects would measure the disk instead.
    git('gc', '-q');
    const plan = Array.from({ length: runs }, () => timed('node', [BIN, 'plan', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD']));

    const validateMs = median(validate.map((v) => v.wallMs));
    return {
      files: BENCH_SHAPE.files + 1,
      targets: BENCH_SHAPE.files * BENCH_SHAPE.targetsPerFile,
      shards: shards.length,
      validate_wall_ms: Math.round(validateMs),
      validate_peak_rss_mib: Math.round(Math.max(...validate.map((v) => v.peakMiB))),
      promtool_all_shards_wall_ms: Math.round(promtoolMs),
      promtool_peak_rss_mib: Math.round(promtoolPeak),
      validate_vs_promtool_ratio: Number((promtoolMs / validateMs).toFixed(2)),
      plan_one_file_wall_ms: Math.round(median(plan.map((p) => p.wallMs))),
      render_all_shards_wall_ms: Math.round(render.wallMs),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await runValidateBench();
  console.table(r);
  console.log(JSON.stringify(r));
}
