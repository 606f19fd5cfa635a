// Splits on the 200-shard benchmark repository (5,000 files, 50,000 targets): `promshard render` and
// `promshard plan` with split: 3 on a quarter of the shards (50), against the same repository without
// splits, in the same run, through the CLI bundle as users run it. Plan runs for a one-file change
// (its split estimates cover every split shard) and with --suggest-split (every shard, N searched).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_SHAPE, generateRepository, teamFilePath, teamFileText } from './support/generate-repository.ts';

const BIN = fileURLToPath(new URL('../bin/promshard.mjs', import.meta.url));
const RUNS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`promshard ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(0, 400)}`);
  return ms;
}

function makeRepo(split: boolean): string {
  const repo = mkdtempSync(join(tmpdir(), `promshard-bench-split-${split}-`));
  generateRepository(repo, BENCH_SHAPE);
  if (split) {
    // Every fourth shard gets split: 3 (50 of 200).
    const path = join(repo, 'shards.yaml');
    const text = readFileSync(path, 'utf8').replace(/(  - name: shard-(\d{3})\n    replicas: 2\n)/g, (m, _all, n) => (Number(n) % 4 === 0 ? `${m}    split: 3\n` : m));
    writeFileSync(path, text);
  }
  const git = (...a: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@local', ...a], { stdio: 'pipe' });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'generated');
  writeFileSync(join(repo, teamFilePath(0)), teamFileText(0, BENCH_SHAPE, ['added-0.internal:9100']));
  git('commit', '-qam', 'one-file change on a split shard (shard-000)');
  return repo;
}

export async function runSplitsBench(): Promise<Record<string, number | string>> {
  const plain = makeRepo(false);
  const split = makeRepo(true);
  const out = mkdtempSync(join(tmpdir(), 'promshard-bench-split-out-'));
  try {
    const figures: Record<string, number[]> = {};
    const add = (k: string, v: number) => (figures[k] ??= []).push(v);
    // Alternate the two repositories so that both see the same machine state.
    for (let i = 0; i < RUNS; i++) {
      for (const [name, repo] of [['no_split', plain], ['split', split]] as const) {
        add(`render_${name}_ms`, timed(['render', '--repo', repo, '--out', join(out, name)]));
        add(`plan_${name}_ms`, timed(['plan', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD']));
        add(`plan_suggest_${name}_ms`, timed(['plan', '--repo', repo, '--base', 'HEAD~1', '--head', 'HEAD', '--suggest-split']));
      }
    }
    const docs = (dir: string) => execFileSync('sh', ['-c', `ls ${dir} | wc -l`], { encoding: 'utf8' }).trim();
    const result: Record<string, number | string> = { documents_no_split: Number(docs(join(out, 'no_split'))), documents_split: Number(docs(join(out, 'split'))) };
    for (const [k, v] of Object.entries(figures)) result[k] = Math.round(median(v));
    return result;
  } finally {
    for (const d of [plain, split, out]) rmSync(d, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await runSplitsBench());
