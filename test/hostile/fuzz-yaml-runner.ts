// The fuzz loop of test/hostile/fuzz-yaml.test.ts. Time-bounded, seeded fuzz of the loader and compiler (extends test/rules/hostile-input.test.ts, which
// covers the named hostile files): the bundled example team files and shards.yaml are mutated —
// byte flips, truncation, duplicated slices, deleted or swapped lines, random YAML tokens — and each
// mutant is compiled. The compiler must never throw, and must return either a clean result (valid,
// with a model) or findings that each carry a rule id, a message and a position inside the file.
// Replay with PROMSHARD_FUZZ_SEED=<seed printed below>; PROMSHARD_FUZZ_MS sets the time budget.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import type { RepositorySource } from '../../core/repository/repository-source.ts';
import { seededRandom } from '../support/fleet.ts';

// Run by fuzz-yaml.test.ts in a child process, so that a compile that never returns (synchronous code
// cannot be interrupted by a test timeout) is caught by a watchdog and reported with its run number.
const SEED = Number(process.env.PROMSHARD_FUZZ_SEED) >>> 0;
const BUDGET_MS = Number(process.env.PROMSHARD_FUZZ_MS ?? 15_000);

const ROOT = fileURLToPath(new URL('../../scrape-configs/', import.meta.url));
const SHARDS = readFileSync(join(ROOT, 'shards.yaml'));
const TEAM_FILES: { path: string; bytes: Buffer }[] = [];
for (const team of readdirSync(join(ROOT, 'teams'))) for (const f of readdirSync(join(ROOT, 'teams', team))) TEAM_FILES.push({ path: `teams/${team}/${f}`, bytes: readFileSync(join(ROOT, 'teams', team, f)) });

const TOKENS = ['&a ', '*a', '*zz', '<<: *a\n', '!!binary ', '!!python/object:os.system ', '!ruby ', '? ', ': ', '- ', '---\n', '...\n', '%YAML 1.2\n', '%TAG ! x\n', '{', '}', '[', ']', '"', "'", '|', '>-', '#', '\t', '\r', '\n', '\ufeff', '\u2028', '😀', '~', 'null', 'NaN', '.inf', '0x1F', '1e309', '9'.repeat(400), '__proto__: ', 'constructor: ', 'prototype: ', 'jobs: ', 'name: ', 'targets: ', 'regex: "(?<=a)b"', 'regex: "(a|b"', 'interval: -1s', 'timeout: 99999999h', 'shard: ', 'team: ', '\\u0000', '\x07', '&a [*a]', ' '.repeat(200)];
const BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x23, 0x26, 0x27, 0x2a, 0x2c, 0x2d, 0x3a, 0x3e, 0x3f, 0x40, 0x5b, 0x5d, 0x60, 0x7b, 0x7c, 0x7d, 0x7f, 0x80, 0xc3, 0xe2, 0xfe, 0xff];

type Rng = ReturnType<typeof seededRandom>;

function mutate(input: Buffer, rng: Rng): { bytes: Buffer; how: string } {
  let b = Buffer.from(input);
  const hows: string[] = [];
  const rounds = rng.int(1, 4);
  for (let i = 0; i < rounds; i++) {
    const at = rng.int(0, Math.max(0, b.length - 1));
    switch (rng.int(0, 6)) {
      case 0: {
        const copy = Buffer.from(b);
        copy[at] = rng.chance(0.5) ? rng.pick(BYTES) : rng.int(0, 255);
        b = copy;
        hows.push(`flip@${at}`);
        break;
      }
      case 1:
        b = b.subarray(0, at);
        hows.push(`truncate@${at}`);
        break;
      case 2: {
        const len = rng.int(1, Math.min(400, b.length - at));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        hows.push(`dup@${at}+${len}`);
        break;
      }
      case 3: {
        const tok = rng.pick(TOKENS);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(tok), b.subarray(at)]);
        hows.push(`insert@${at}:${JSON.stringify(tok).slice(0, 20)}`);
        break;
      }
      case 4: {
        const lines = b.toString('latin1').split('\n');
        lines.splice(rng.int(0, lines.length - 1), 1);
        b = Buffer.from(lines.join('\n'), 'latin1');
        hows.push('delete-line');
        break;
      }
      case 5: {
        const lines = b.toString('latin1').split('\n');
        const x = rng.int(0, lines.length - 1);
        const y = rng.int(0, lines.length - 1);
        [lines[x], lines[y]] = [lines[y], lines[x]];
        b = Buffer.from(lines.join('\n'), 'latin1');
        hows.push(`swap-lines ${x}/${y}`);
        break;
      }
      default: {
        // Re-indent a line: YAML's structure is its indentation.
        const lines = b.toString('latin1').split('\n');
        const x = rng.int(0, lines.length - 1);
        lines[x] = ' '.repeat(rng.int(0, 9)) + lines[x].trimStart();
        b = Buffer.from(lines.join('\n'), 'latin1');
        hows.push(`indent ${x}`);
      }
    }
  }
  return { bytes: b, how: hows.join(', ') };
}

function main(): void {
  const rng = seededRandom(SEED);
  const deadline = Date.now() + BUDGET_MS;
  let runs = 0;
  let clean = 0;
  while (Date.now() < deadline) {
    runs++;
    process.stdout.write(`run ${runs}\n`);
    const files = new Map<string, Buffer>([['shards.yaml', SHARDS]]);
    // A handful of real team files, one or two of them mutated; sometimes shards.yaml too.
    for (let i = 0; i < 4; i++) {
      const f = rng.pick(TEAM_FILES);
      files.set(f.path, f.bytes);
    }
    const targets = [...files.keys()].filter((p) => p !== 'shards.yaml');
    const victims = [rng.pick(targets), ...(rng.chance(0.3) ? [rng.pick(targets)] : []), ...(rng.chance(0.15) ? ['shards.yaml'] : [])];
    const hows: string[] = [];
    for (const v of victims) {
      const m = mutate(files.get(v)!, rng);
      files.set(v, m.bytes);
      hows.push(`${v}: ${m.how}`);
    }
    if (Number(process.env.PROMSHARD_FUZZ_DUMP_RUN) === runs) {
      // Replay aid: write this run's repository to a directory and stop before compiling it.
      const out = mkdtempSync(join(tmpdir(), 'promshard-fuzz-yaml-'));
      for (const [p, bytes] of files) {
        mkdirSync(dirname(join(out, p)), { recursive: true });
        writeFileSync(join(out, p), bytes);
      }
      process.stdout.write(`dumped ${out} (${hows.join(' | ')})\n`);
      return;
    }
    const source: RepositorySource = { origin: 'fuzz', files: [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, bytes]) => ({ path, bytes })) };
    const replay = `[replay: PROMSHARD_FUZZ_SEED=${SEED}, run ${runs}; ${hows.join(' | ')}]`;
    let c: ReturnType<typeof compileRepository>;
    try {
      c = compileRepository(source, { rules: ALL_RULES });
    } catch (err) {
      assert.fail(`the compiler threw ${(err as Error).stack?.slice(0, 600)} ${replay}`);
    }
    const errors = c.findings.filter((f) => f.severity === 'error');
    if (errors.length === 0) {
      assert.equal(c.valid, true, `no error finding but not valid ${replay}`);
      assert.ok(c.model, `valid without a model ${replay}`);
      clean++;
    } else assert.equal(c.valid, false, `error findings but valid ${replay}`);
    for (const f of c.findings) {
      const where = `${f.ruleId} ${f.file}:${f.start?.line}:${f.start?.column} ${replay}`;
      assert.ok(typeof f.ruleId === 'string' && /^[a-z0-9-]+$/.test(f.ruleId), `rule id ${where}`);
      assert.ok(typeof f.message === 'string' && f.message.length > 0, `message ${where}`);
      assert.ok(files.has(f.file), `the finding names a file of the repository ${where}`);
      const text = files.get(f.file)!.toString('utf8');
      // YAML counts CR, LF and CRLF as line breaks.
      const lines = text.split(/\r\n|\r|\n/);
      for (const p of [f.start, f.end]) {
        assert.ok(Number.isInteger(p.line) && Number.isInteger(p.column) && p.line >= 1 && p.column >= 1, `position is 1-based integers ${where}`);
        assert.ok(p.line <= lines.length + 1, `line within the file (${lines.length} lines) ${where}`);
      }
      assert.ok(f.end.line > f.start.line || (f.end.line === f.start.line && f.end.column >= f.start.column), `end not before start ${where}`);
    }
  }
  process.stdout.write(`done ${JSON.stringify({ runs, clean })}\n`);
  assert.ok(runs > 50, `only ${runs} runs in ${BUDGET_MS} ms`);
}

try {
  main();
} catch (err) {
  process.stdout.write(`FAIL ${JSON.stringify((err as Error).message)}\n`);
  process.exitCode = 1;
}
