// Time-bounded, seeded fuzz of the agent's POST /v1/apply (agent in its own process, real Prometheus,
// real promtool): valid desired documents interleaved with mutated ones (fields removed or retyped,
// hashes and generations broken, unsafe names, content mutated with consistent hashes, JSON broken).
// Asserted after every request: a valid document gets 2xx; a document known to be invalid gets 4xx;
// nothing ever gets 5xx; the agent process is alive; after any 4xx the config file and the applied
// state are exactly as before. Replay with PROMSHARD_FUZZ_SEED; PROMSHARD_FUZZ_MS sets the budget.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { hashFiles, sha256Hex, type DesiredDocument } from '../../core/document/desired-document.ts';
import { configWithJobs, makeDoc, TOKEN } from '../agent/helpers.ts';
import { killAllChildren, seededRandom, stablePort, startAgentProcess, writeSecret, type NodeProcess } from '../support/fleet.ts';
import { prometheusInstalled, startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { fuzzSeed } from './helpers.ts';

const SEED = fuzzSeed();
const BUDGET_MS = Number(process.env.PROMSHARD_FUZZ_MS ?? 15_000);
process.stdout.write(`# apply fuzz seed: PROMSHARD_FUZZ_SEED=${SEED} (${BUDGET_MS} ms)\n`);

let dir: string;
let prometheus: RunningPrometheus;
let agent: NodeProcess;
let url: string;

before(async () => {
  if (!prometheusInstalled()) return;
  dir = mkdtempSync(join(tmpdir(), 'promshard-fuzz-apply-'));
  writeFileSync(join(dir, 'prometheus.yml'), configWithJobs({}));
  writeSecret(dir, 'token', TOKEN);
  prometheus = await startPrometheus({ configFile: join(dir, 'prometheus.yml'), dir });
  ({ proc: agent, url } = await startAgentProcess({
    shard: 'networking',
    replica: 'a',
    port: await stablePort(),
    prometheusUrl: prometheus.url,
    configFile: join(dir, 'prometheus.yml'),
    stateDir: join(dir, 'state'),
    tokenFile: join(dir, 'token'),
    flags: ['--max-body', '256kb', '--reload-timeout', '5s', '--promtool-syntax-only'],
  }));
});
after(async () => {
  await killAllChildren();
  await prometheus?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Expect = 'valid' | 'invalid' | 'either';
type Rng = ReturnType<typeof seededRandom>;

const WEIRD: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'x', 'x'.repeat(300), [], {}, true, [null], { $ne: null }];

function rehash(doc: DesiredDocument): DesiredDocument {
  const files = doc.files.map((f) => ({ ...f, sha256: sha256Hex(f.content) }));
  return { ...doc, files, hash: hashFiles(files) };
}

function mutateContent(text: string, rng: Rng): string {
  const at = rng.int(0, Math.max(0, text.length - 1));
  switch (rng.int(0, 4)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + rng.pick([':', '- ', '{', ']', '\t', '"', '&a', '*a', '\n  x: 1', 'job_name: dup\n', '\u0000']) + text.slice(at);
    case 2:
      return text.replace('scrape_configs', rng.pick(['scrape_config', 'scrape_configs: 5\nx', 'Scrape_configs']));
    case 3:
      return text.replace(/job_name: \w+/, 'job_name: "bad name with spaces"').replace('1s', rng.pick(['-1s', '1y', 'soon', '0s']));
    default:
      return text + text; // duplicate keys
  }
}

it(`POST /v1/apply with mutated documents: valid → 2xx, invalid → 4xx, never 5xx, nothing changes on a refusal (seed ${SEED})`, { skip: !prometheusInstalled() && 'prometheus not installed', timeout: BUDGET_MS + 60_000 }, async () => {
  const rng = seededRandom(SEED);
  let seq = 100;
  const status = async () => ((await (await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { applied: unknown }).applied;
  const good = (s: number) => {
    const jobs: Record<string, string[]> = {};
    for (let i = 0, n = rng.int(1, 4); i < n; i++) jobs[`job_${rng.int(0, 9)}`] = [`127.0.0.1:${rng.int(1000, 1100)}`];
    return makeDoc(`rev-${s}`, s, configWithJobs(jobs));
  };
  const counts: Record<string, number> = {};
  // Something must be applied before fault 3 ("older than everything applied") can be refused; a
  // seed whose first run was a refusal once made that expectation wrong (seed 2972498309).
  const first = await fetch(`${url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(good(seq)) });
  await first.arrayBuffer();
  if (first.status !== 200) throw new Error(`the first valid document was not applied: HTTP ${first.status}`);
  const deadline = Date.now() + BUDGET_MS;
  let runs = 0;
  while (Date.now() < deadline) {
    runs++;
    const base = good(++seq);
    let body: string;
    let expect: Expect;
    let how: string;
    const r = rng.next();
    if (r < 0.2) {
      body = JSON.stringify(base);
      expect = 'valid';
      how = 'valid';
    } else if (r < 0.55) {
      // Structural: one field removed or retyped; hashes left as they are unless the field is a file's.
      const doc = structuredClone(base) as unknown as Record<string, unknown>;
      const key = rng.pick(['apiVersion', 'shard', 'revision', 'generation', 'committedAt', 'files', 'hash', 'owners']);
      const value = rng.chance(0.3) ? undefined : rng.pick(WEIRD);
      if (value === undefined) delete doc[key];
      else doc[key] = value;
      body = JSON.stringify(doc);
      // committedAt is informational; owners may be absent or {}; everything else is required and typed.
      const harmless =
        key === 'committedAt' ||
        (key === 'revision' && typeof value === 'string' && value.length > 0 && value.length <= 200) ||
        (key === 'owners' && (value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value))));
      expect = harmless ? 'either' : 'invalid';
      how = `field ${key} = ${JSON.stringify(value)}`;
    } else if (r < 0.7) {
      const doc = structuredClone(base);
      const kind = rng.int(0, 7);
      how = `document fault ${kind}`;
      expect = 'invalid';
      if (kind === 0) doc.files[0].sha256 = sha256Hex('other');
      else if (kind === 1) doc.hash = sha256Hex('other');
      else if (kind === 2) doc.shard = 'storage';
      else if (kind === 3) doc.generation = rng.int(0, 99); // older than everything applied: 409
      else if (kind === 4) Object.assign(doc, rehash({ ...doc, files: [...doc.files, { path: rng.pick(['../x.yml', '/tmp/x.yml', 'a/../../x', 'a\\b', '']), content: 'x', sha256: '' }] }));
      else if (kind === 5) Object.assign(doc, rehash({ ...doc, files: [...doc.files, { ...doc.files[0] }] }));
      else if (kind === 6) Object.assign(doc, rehash({ ...doc, files: [{ path: 'other.yml', content: 'a: 1\n', sha256: '' }] }));
      else doc.hash = doc.hash.toUpperCase();
      body = JSON.stringify(doc);
    } else if (r < 0.9) {
      // Content mutated with consistent hashes: promtool or Prometheus decide; either way never 5xx.
      const doc = structuredClone(base);
      doc.files[0].content = mutateContent(doc.files[0].content, rng);
      body = JSON.stringify(rehash(doc));
      expect = 'either';
      how = 'content';
    } else {
      const text = JSON.stringify(base);
      const at = rng.int(0, text.length - 1);
      body = text.slice(0, at) + rng.pick(['', '"', '}', '\u0000', ',,', 'NaN']) + text.slice(at + rng.int(1, 5));
      expect = 'either'; // a cut inside a string can still be JSON of a broken document
      how = 'broken JSON';
    }

    const fileBefore = readFileSync(join(dir, 'prometheus.yml'), 'utf8');
    const appliedBefore = await status();
    const res = await fetch(`${url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    const text = await res.text();
    const replay = `[replay: PROMSHARD_FUZZ_SEED=${SEED}, run ${runs}: ${how}] ${res.status} ${text.slice(0, 300)}`;
    counts[`${how.split(' ')[0]} ${res.status}`] = (counts[`${how.split(' ')[0]} ${res.status}`] ?? 0) + 1;
    assert.ok(res.status < 500, `never 5xx ${replay}`);
    if (expect === 'valid') assert.ok(res.status >= 200 && res.status < 300, `a valid document is taken ${replay}`);
    if (expect === 'invalid') assert.ok(res.status >= 400 && res.status < 500, `an invalid document is refused ${replay}`);
    assert.ok(agent.alive(), `the agent is alive ${replay}`);
    if (res.status >= 400) {
      assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), fileBefore, `the config file is unchanged after a refusal ${replay}`);
      assert.deepEqual(await status(), appliedBefore, `the applied state is unchanged after a refusal ${replay}`);
    } else {
      const sent = JSON.parse(body) as DesiredDocument;
      const main = sent.files.find((f) => f.path === 'prometheus.yml')!;
      assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), main.content, `a taken document is on disk ${replay}`);
    }
  }
  process.stdout.write(`# apply fuzz seed ${SEED}: ${runs} requests; ${JSON.stringify(counts)}\n`);
  assert.ok(runs > 20, `only ${runs} requests`);
});
