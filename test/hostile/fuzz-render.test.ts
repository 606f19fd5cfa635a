// Time-bounded, seeded fuzz of the renderer round-trip property (issue 10): compiled models with any
// string in any field, and repositories of team files holding YAML-hostile strings the rules accept,
// are rendered and parsed back under YAML 1.1, YAML 1.2 core and js-yaml; each must read exactly the
// structure that was rendered (test/support/hostile-render.ts). Every case has its own seed, printed
// on failure, which test/render/render-roundtrip.test.ts replays (PROMSHARD_RENDER_SEED=<case seed>
// PROMSHARD_RENDER_CASES=1). The run's seed is printed below: PROMSHARD_FUZZ_SEED replays a run, and
// PROMSHARD_FUZZ_MS sets the budget. CI replays seed 1 (helpers.ts: fuzzSeed).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fuzzSeed } from './helpers.ts';
import { seededRandom } from '../support/fleet.ts';
import { assertRoundTrip, hostileModel, hostileString, hostileTeamFile } from '../support/hostile-render.ts';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';

const SEED = fuzzSeed();
const BUDGET_MS = Number(process.env.PROMSHARD_FUZZ_MS ?? 8_000);
process.stdout.write(`# render fuzz seed: PROMSHARD_FUZZ_SEED=${SEED} (${BUDGET_MS} ms)\n`);

const SHARDS = BASIC_SHARDS_YAML.replace('budget: { max_series: 100000, max_targets: 100 }', 'budget: { max_series: 100000, max_targets: 1000 }');

it(`rendering hostile models and repositories round-trips under YAML 1.1, 1.2 core and js-yaml (seed ${SEED})`, { timeout: BUDGET_MS + 60_000 }, () => {
  const run = seededRandom(SEED);
  const deadline = Date.now() + BUDGET_MS;
  let models = 0;
  let repositories = 0;
  while (Date.now() < deadline) {
    const caseSeed = run.int(0, 2 ** 32 - 1) >>> 0;
    const rng = seededRandom(caseSeed);
    if (models % 10 !== 9) {
      assertRoundTrip(
        hostileModel(rng, () => hostileString(rng, { unsafe: true })),
        `[run seed ${SEED}; replay the case: PROMSHARD_RENDER_SEED=${caseSeed} PROMSHARD_RENDER_CASES=1 test/render/render-roundtrip.test.ts]`,
      );
      models++;
      continue;
    }
    models++;
    const files: Record<string, string> = { 'shards.yaml': SHARDS };
    for (let f = rng.int(1, 4); f > 0; f--) files[`teams/netops/f${f}.yaml`] = hostileTeamFile(rng, 'netops', f).text;
    const c = compileFiles(files);
    const where = `[run seed ${SEED}, repository case seed ${caseSeed}]`;
    assert.equal(c.valid, true, `${where} ${JSON.stringify(c.findings.slice(0, 3))}`);
    assertRoundTrip(c.model!.shards.find((s) => s.name === 'networking')!, where);
    repositories++;
  }
  process.stdout.write(`# render fuzz seed ${SEED}: ${models - repositories} models and ${repositories} repositories rendered and parsed back\n`);
  assert.ok(models > 50, `only ${models} cases in ${BUDGET_MS} ms`);
});
