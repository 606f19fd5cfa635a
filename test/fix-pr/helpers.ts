// Fixtures for the `promshard fix` tests: flags built by the analyzer's own fix code (planFix/buildFix),
// a bare git remote, the git host test server (test/support/githost-server.ts) wired to that remote,
// and the real CLI.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CardinalityFlag } from '../../core/protocol/cardinality-flag.ts';
import { DEFAULT_CARDINALITY_THRESHOLDS } from '../../core/protocol/cardinality-flag.ts';
import type { RelabelConfig } from '../../schemas/model.ts';
import { buildFix, planFix } from '../../shard-agent/cardinality/fix-suggestion.ts';
import { flagId } from '../../shard-agent/cardinality/flag.ts';
import type { HostedRepo } from '../support/githost-server.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

/** A flag as the agent raises it: the fix is computed from `values` by the analyzer's own code. */
export async function makeFlag(o: { shard?: string; job: string; metric: string; label: string; file: string; line?: number; team?: string; values: string[]; existing?: RelabelConfig[] | null; examples?: string[] }): Promise<CardinalityFlag> {
  const shard = o.shard ?? 'checkout';
  const plan = await planFix({ label: o.label, selector: `${o.metric}{job="${o.job}"}`, values: o.values, existing: o.existing ?? [] });
  const distinct = new Set(o.values).size;
  const fix = buildFix(plan, { job: o.job, metric: o.metric, label: o.label, file: o.file, line: o.line ?? 4, seriesBefore: distinct, seriesAfter: Math.max(1, plan.residual.length), distinctValues: distinct, complete: true, residualBar: 50 });
  const now = new Date().toISOString();
  return {
    id: flagId(shard, o.job, o.metric, o.label),
    shard,
    job: o.job,
    team: o.team ?? 'payments',
    file: o.file,
    line: o.line ?? 4,
    metric: o.metric,
    label: o.label,
    distinctValues: distinct,
    seriesAffected: distinct,
    metricSeries: distinct,
    valueRatio: 1,
    pattern: 'uuid',
    patternShare: 1,
    sampleSize: Math.min(24, distinct),
    examples: o.examples ?? o.values.slice(0, 3),
    severity: 'critical',
    reason: 'id-pattern',
    reasons: ['id-pattern', 'unique-per-series'],
    risingCycles: 0,
    firstSeen: now,
    lastSeen: now,
    thresholds: { ...DEFAULT_CARDINALITY_THRESHOLDS },
    fix,
  };
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

/** A work tree with `files` committed on main, and a bare clone of it as the remote the fix is pushed to. */
export function repoWithRemote(files: Record<string, string>): { work: TestGitRepo; bare: string; destroy(): void } {
  const work = createGitRepo(files);
  const bare = mkdtempSync(join(tmpdir(), 'promshard-fix-remote-'));
  execFileSync('git', ['clone', '-q', '--bare', work.dir, bare]);
  work.git('remote', 'add', 'origin', bare);
  return {
    work,
    bare,
    destroy() {
      work.destroy();
      rmSync(bare, { recursive: true, force: true });
    },
  };
}

/** The commit a branch of a git repository points at, or undefined. */
export function gitBranch(gitDir: string, branch: string): string | undefined {
  try {
    return execFileSync('git', ['-C', gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the test server's repository answer branch lookups from a real git repository, as a git host
 * serves the repository its git endpoint receives pushes into: a branch pushed with git is then known
 * to the host's API (opening a PR from it works, an unknown one is refused).
 */
export function serveBranchesFromGit(repo: HostedRepo, gitDir: string): void {
  const own = repo.branches;
  repo.branches = new (class extends Map<string, string> {
    override get(k: string) {
      return gitBranch(gitDir, k) ?? own.get(k);
    }
    override has(k: string) {
      return this.get(k) !== undefined;
    }
  })();
}

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI asynchronously (a controller in this process must keep answering meanwhile). */
export function promshard(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) =>
    execFile('node', [BIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 2) : 0, stdout, stderr }),
    ),
  );
}

/** `promshard validate` on one branch of a repository, in a fresh checkout of that branch. */
export async function validateBranch(gitDir: string, branch: string): Promise<CliResult> {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-fix-check-'));
  try {
    execFileSync('git', ['clone', '-q', '--branch', branch, gitDir, dir]);
    return await promshard(['validate', '--repo', dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function showFile(gitDir: string, ref: string, path: string): string {
  return execFileSync('git', ['-C', gitDir, 'show', `${ref}:${path}`], { encoding: 'utf8' });
}
