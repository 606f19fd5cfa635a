// Benchmark: `promshard validate` on a 5,000-file / 50,000-target / 200-shard repository, against what
// a user would otherwise run: ONE `promtool check config a.yml b.yml …` process over every rendered
// shard of the same repository. Both run side by side in the same run, alternating, several times;
// the figures are medians of wall time and of peak RSS (GNU time's %M). Each promshard figure is a
// fresh CLI process through bin/promshard.mjs, as CI runs it. Also: `plan` for a one-file change,
// `render` of all shards, and (labelled as such) 200 separate promtool processes, one per shard.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_SHAPE, generateRepository, teamFilePath, teamFileText } from './support/generate-repository.ts';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/promshard.mjs', import.meta.url));
const BUILD_BUNDLE = fileURLToPath(new URL('../bin/build-bundle.mjs', import.meta.url));
const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const GNU_TIME = '/usr/bin/time';

interface Sample {
  wallMs: number;
  peakMiB: number;
  cpuMs: number;
  exit: number;
}

/** Runs one command under GNU time: wall ms, peak RSS (MiB) and user+system CPU ms of the process. */
function timed(cmd: string, args: string[], timeFile: string): Sample {
  const t0 = performance.now();
  const r = spawnSync(GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const wallMs = performance.now() - t0;
  const [rssKiB, user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wallMs, peakMiB: rssKiB / 1024, cpuMs: (user + sys) * 1000, exit: r.status ?? -1 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x: number, digits = 0) => Number(x.toFixed(digits));

export async function runValidateBench(runs = Number(process.env.BENCH_RUNS ?? 7)): Promise<Record<string, number | string>> {
  if (!existsSync(GNU_TIME)) throw new Error('GNU time (/usr/bin/time) is needed: apt-get install -y time');
  const work = mkdtempSync(join(tmpdir(), 'promshard-bench-validate-'));
  const repo = join(work, 'repo');
  const timeFile = join(work, 'time.txt');
  try {
    generateRepository(repo);
    const git = (...a: string[]) => execFileSync('git', ['-C', repo, ...a], { stdio: 'pipe' });
    git('init', '-q');
    git('add', '-A');
    git('-c', 'user.name=bench', '-c', 'user.email=bench@local', 'commit', '-qm', 'generated');

    execFileSync(process.execPath, [BUILD_BUNDLE], { stdio: 'inherit' });
    const out = join(work, 'rendered');
    const render = timed('node', [BIN, 'render', '--repo', repo, '--out', out], timeFile);
    const shardFiles = readdirSync(out).map((s) => join(out, s, 'prometheus.yml')).filter((f) => existsSync(f));

    // The launcher runs the bundle only when it is newer than every source; in a tree being edited it
    // would fall back to tsx and measure the TypeScript compiler. Rebuild it before each sample.
    const validate = () => {
      execFileSync(process.execPath, [BUILD_BUNDLE], { stdio: 'inherit' });
      return timed('node', [BIN, 'validate', '--repo', repo], timeFile);
    };
    const promtool = () => timed(PROMTOOL, ['check', 'config', ...shardFiles], timeFile);

    // One warm-up of each (page cache, the first run of a binary), then alternate so that the load of
    // a shared machine falls on both alike.
    const first = validate();
    if (first.exit !== 0) throw new Error(`validate of the generated repository failed (exit ${first.exit})`);
    if (promtool().exit !== 0) throw new Error('promtool check config refused the rendered shards');
    const loadBefore = loadavg()[0];
    const v: Sample[] = [];
    const p: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      v.push(validate());
      p.push(promtool());
    }
    const loadAfter = loadavg()[0];

    // The old, flattering baseline, labelled for what it is: a separate promtool process per shard.
    const perShardStart = performance.now();
    let perShardPeak = 0;
    for (const f of shardFiles) {
      const r = timed(PROMTOOL, ['check', 'config', f], timeFile);
      if (r.exit !== 0) throw new Error(`promtool refused ${f}`);
      perShardPeak = Math.max(perShardPeak, r.peakMiB);
    }
    const perShardMs = performance.now() - perShardStart;

    // One-file change: add two targets to one file and commit it.
    writeFileSync(join(repo, teamFilePath(42)), teamFileText(42, BENCH_SHAPE, ['new-a.dc0.internal:9100', 'new-b.dc0.internal:9100']));
    git('-c', 'user.name=bench', '-c', 'user.email=bench@local', 'commit', '-qam', 'one-file change');
    // A CI checkout is a clone, whose objects are packed; 5,000 loose objects would measure the disk instead.
    git('gc', '-q');
    const plan = Array.from({ length: 3 }, () => timed('node', [BIN, 'plan', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD'], timeFile));

    const vWall = median(v.map((s) => s.wallMs));
    const pWall = median(p.map((s) => s.wallMs));
    const vRss = median(v.map((s) => s.peakMiB));
    const pRss = median(p.map((s) => s.peakMiB));
    return {
      files: BENCH_SHAPE.files + 1,
      targets: BENCH_SHAPE.files * BENCH_SHAPE.targetsPerFile,
      shards: shardFiles.length,
      runs,
      load_average_1m: `${round(loadBefore, 1)} → ${round(loadAfter, 1)}`,
      validate_wall_ms_median: Math.round(vWall),
      promtool_one_process_wall_ms_median: Math.round(pWall),
      validate_vs_promtool_wall_ratio: round(vWall / pWall, 2),
      // Each validate sample is paired with the promtool sample right after it, so a burst of load
      // on a shared machine falls on one pair rather than on one side of the medians.
      validate_vs_promtool_wall_ratio_median_of_pairs: round(median(v.map((s, i) => s.wallMs / p[i].wallMs)), 2),
      validate_peak_rss_mib_median: Math.round(vRss),
      promtool_one_process_peak_rss_mib_median: Math.round(pRss),
      validate_vs_promtool_rss_ratio: round(vRss / pRss, 2),
      validate_cpu_ms_median: Math.round(median(v.map((s) => s.cpuMs))),
      promtool_one_process_cpu_ms_median: Math.round(median(p.map((s) => s.cpuMs))),
      validate_wall_ms_all: v.map((s) => Math.round(s.wallMs)).join(' '),
      promtool_one_process_wall_ms_all: p.map((s) => Math.round(s.wallMs)).join(' '),
      promtool_200_processes_one_per_shard_wall_ms: Math.round(perShardMs),
      promtool_200_processes_one_per_shard_peak_rss_mib: Math.round(perShardPeak),
      plan_one_file_wall_ms: Math.round(median(plan.map((s) => s.wallMs))),
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
