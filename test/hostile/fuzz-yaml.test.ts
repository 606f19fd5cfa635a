// Time-bounded, seeded fuzz of the loader and compiler (extends test/rules/hostile-input.test.ts, which
// covers the named hostile files): the bundled example team files and shards.yaml are mutated —
// byte flips, truncation, duplicated slices, deleted, swapped or re-indented lines, random YAML
// tokens — and each mutant is compiled (loop: fuzz-yaml-runner.ts). The compiler must never throw,
// never hang, and return either a clean result (valid, with a model) or findings that each carry a
// rule id, a message and a position inside the file. The loop runs in a child process under a
// watchdog, because a synchronous compile that never returns cannot be stopped by a test timeout.
// Replay with PROMSHARD_FUZZ_SEED=<seed printed below>; PROMSHARD_FUZZ_MS sets the time budget.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { fuzzSeed } from './helpers.ts';

const SEED = fuzzSeed();
const BUDGET_MS = Number(process.env.PROMSHARD_FUZZ_MS ?? 15_000);
const WATCHDOG_MS = BUDGET_MS + 30_000;
process.stdout.write(`# yaml fuzz seed: PROMSHARD_FUZZ_SEED=${SEED} (${BUDGET_MS} ms)\n`);

it(`compiling mutated team files and shards.yaml never throws, never hangs, and every finding is located (seed ${SEED})`, { timeout: WATCHDOG_MS + 10_000 }, async () => {
  const runner = fileURLToPath(new URL('./fuzz-yaml-runner.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', runner], { env: { ...process.env, PROMSHARD_FUZZ_SEED: String(SEED), PROMSHARD_FUZZ_MS: String(BUDGET_MS) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let lastRun = 0;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    const runs = out.match(/run (\d+)\n/g);
    if (runs) lastRun = Number(runs[runs.length - 1].slice(4));
    if (out.length > 100_000) out = out.slice(-10_000);
  });
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-5000)));
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, WATCHDOG_MS);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(watchdog);
  assert.ok(!hung, `the compiler hung on run ${lastRun} [replay: PROMSHARD_FUZZ_SEED=${SEED}; the loop is in fuzz-yaml-runner.ts]`);
  const fail = /^FAIL (.*)$/m.exec(out);
  assert.ok(!fail, fail ? JSON.parse(fail[1]) : '');
  assert.equal(code, 0, `runner exited ${code}: ${err}`);
  const done = /^done (.*)$/m.exec(out);
  assert.ok(done, `no summary: ${out.slice(-500)} ${err}`);
  const summary = JSON.parse(done[1]) as { runs: number; clean: number };
  process.stdout.write(`# yaml fuzz seed ${SEED}: ${summary.runs} mutated repositories compiled, ${summary.clean} clean\n`);
  assert.ok(summary.runs > 50, `only ${summary.runs} runs in ${BUDGET_MS} ms`);
});
