// Fencing at the agent (real agent over HTTP, real Prometheus): a push carrying a leader's term is
// remembered; a push from a lower term is refused with 409 whatever its generation, even with force;
// the term survives a restart and shows in the status; pushes without a term (outside Kubernetes) are
// term 0 and keep working while no term was ever seen.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunningAgent } from '../../shard-agent/start-agent.ts';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { configWithJobs, launchQuietAgent, makeDoc, TOKEN } from '../agent/helpers.ts';
import type { AgentStatus, ApplyResponse } from '../../core/protocol/agent-api.ts';
import { validateProtocol } from '../../core/protocol/protocol-validator.ts';

describe('agent fencing by leader term', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-fencing-'));
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
  const push = async (doc: object): Promise<{ status: number; body: ApplyResponse }> => {
    const res = await fetch(`${agent!.url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
    return { status: res.status, body: (await res.json()) as ApplyResponse };
  };
  const status = async (): Promise<AgentStatus> => (await (await fetch(`${agent!.url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as AgentStatus;

  it('refuses a lower term with a clear 409, remembers the highest across a restart, and shows it', async () => {
    writeFileSync(configFile, configWithJobs({}));
    prometheus = await startPrometheus({ configFile, dir: join(dir, 'prometheus') });
    agent = await launch();

    // Outside Kubernetes: no term at all, term 0 in the status.
    assert.equal((await push(makeDoc('rev-1', 1, configWithJobs({ one: ['127.0.0.1:1'] })))).body.result, 'applied');
    assert.equal((await status()).term, 0);

    const t4 = await push({ ...makeDoc('rev-2', 2, configWithJobs({ two: ['127.0.0.1:2'] })), term: 4 });
    assert.equal(t4.body.result, 'applied');
    assert.equal(t4.body.term, 4);
    const s = await status();
    assert.equal(s.term, 4);
    assert.ok(validateProtocol('status', s).ok, 'the status with its term passes the controller-side schema');

    // A deposed leader (term 3) with a HIGHER generation: refused, nothing touched.
    const before = readFileSync(configFile, 'utf8');
    const old = await push({ ...makeDoc('rev-3', 3, configWithJobs({ three: ['127.0.0.1:3'] })), term: 3 });
    assert.equal(old.status, 409);
    assert.equal(old.body.result, 'rejected');
    assert.equal(old.body.error, 'term 3 is lower than term 4 already seen; a newer leader exists');
    assert.equal(old.body.term, 4, 'the answer tells the deposed leader the term it lost to');
    assert.equal(readFileSync(configFile, 'utf8'), before, 'nothing written');
    // Force does not get past fencing, and neither does a push without a term.
    assert.equal((await agent.apply({ ...makeDoc('rev-3', 3, configWithJobs({ three: ['127.0.0.1:3'] })), term: 3 }, { force: true })).httpStatus, 409);
    const noTerm = await push(makeDoc('rev-4', 4, configWithJobs({ four: ['127.0.0.1:4'] })));
    assert.equal(noTerm.status, 409);
    assert.match(noTerm.body.error ?? '', /term 0 is lower than term 4/);

    // A malformed term is a bad document, not a fence.
    assert.equal((await push({ ...makeDoc('rev-5', 5, configWithJobs({})), term: -1 })).status, 400);

    // The term survives a restart (persisted in state.json).
    await agent.close();
    agent = await launch();
    assert.equal((await status()).term, 4);
    assert.equal((await push({ ...makeDoc('rev-6', 6, configWithJobs({ six: ['127.0.0.1:6'] })), term: 3 })).status, 409);

    // The newer leader's own pushes go on; a yet newer term raises the bar.
    assert.equal((await push({ ...makeDoc('rev-7', 7, configWithJobs({ seven: ['127.0.0.1:7'] })), term: 4 })).body.result, 'applied');
    assert.equal((await push({ ...makeDoc('rev-7', 7, configWithJobs({ seven: ['127.0.0.1:7'] })), term: 5 })).body.result, 'unchanged', 'a new leader fences with the same document: unchanged, no reload');
    assert.equal((await push({ ...makeDoc('rev-8', 8, configWithJobs({ eight: ['127.0.0.1:8'] })), term: 4 })).status, 409);
    assert.equal((await status()).term, 5);
    assert.match(await (await fetch(`${agent!.url}/metrics`)).text(), /^promshard_agent_leader_term 5$/m);
  });
});
