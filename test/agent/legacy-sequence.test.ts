// An agent upgraded from a version that ordered documents by `sequence` (the git position) reads that
// number as the generation: it keeps refusing what it refused before, and its status reports the
// generation a controller recovering from an empty state directory continues above.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunningAgent } from '../../shard-agent/start-agent.ts';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { configWithJobs, launchQuietAgent, makeDoc } from './helpers.ts';

describe('agent state written before generations existed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-legacy-'));
  const configFile = join(dir, 'prometheus.yml');
  const stateDir = join(dir, 'state');
  let prometheus: RunningPrometheus;
  let agent: RunningAgent | undefined;
  const launch = () => launchQuietAgent(prometheus.url, configFile, stateDir);
  after(async () => {
    await agent?.close();
    await prometheus?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a persisted `sequence` as the generation and keeps refusing lower ones', async () => {
    writeFileSync(configFile, configWithJobs({}));
    prometheus = await startPrometheus({ configFile, dir: join(dir, 'prometheus') });
    agent = await launch();
    assert.equal((await agent.apply(makeDoc('rev-7', 7, configWithJobs({ seven: ['127.0.0.1:7'] })))).body.result, 'applied');
    await agent.close();
    agent = undefined;

    // What the previous version left in state.json: `sequence` where `generation` is now.
    const path = join(stateDir, 'state.json');
    const state = JSON.parse(readFileSync(path, 'utf8'));
    const legacy = (r: Record<string, unknown>) => {
      r.sequence = r.generation;
      delete r.generation;
    };
    legacy(state.applied);
    state.recent.forEach(legacy);
    writeFileSync(path, JSON.stringify(state));

    agent = await launch();
    const status = agent.status();
    assert.equal(status.applied?.generation, 7);
    assert.equal(status.recent[0].generation, 7);
    const older = await agent.apply(makeDoc('rev-6', 6, configWithJobs({ six: ['127.0.0.1:6'] })));
    assert.equal(older.httpStatus, 409);
    assert.match(older.body.error ?? '', /generation 6\) is older than the applied revision rev-7 \(generation 7\)/);
    const same = await agent.apply(makeDoc('rev-7b', 7, configWithJobs({ other: ['127.0.0.1:8'] })));
    assert.equal(same.httpStatus, 409, 'a different document at the same generation is refused too');
    const newer = await agent.apply(makeDoc('rev-8', 8, configWithJobs({ eight: ['127.0.0.1:8'] })));
    assert.equal(newer.body.result, 'applied');
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).applied.generation, 8, 'written back in the new form');
  });
});
