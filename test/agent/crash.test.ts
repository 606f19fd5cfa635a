// kill -9 in the middle of an apply, then restart: the agent finds a consistent state and says which
// configuration runs. PROMSHARD_AGENT_CRASH_AT makes the agent process SIGKILL itself at that point.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.ts';
import { configWithJobs, makeDoc, spawnAgentProcess, TOKEN, waitFor } from './helpers.ts';

describe('agent crash mid-apply (separate process, kill -9)', () => {
  let dir: string;
  let prometheus: RunningPrometheus;
  let args: string[];
  const outputs: string[] = [];
  const configA = configWithJobs({ a: ['127.0.0.1:1'] });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'promshard-agent-crash-'));
    writeFileSync(join(dir, 'prometheus.yml'), configWithJobs({}));
    writeFileSync(join(dir, 'token'), TOKEN + '\n');
    prometheus = await startPrometheus({ configFile: join(dir, 'prometheus.yml'), dir });
    args = ['--shard', 'networking', '--replica', 'a', '--listen', '127.0.0.1:0', '--prometheus-url', prometheus.url, '--config-file', join(dir, 'prometheus.yml'), '--state-dir', join(dir, 'state'), '--token-file', join(dir, 'token'), '--probe-interval', '200ms'];
  });
  after(async () => {
    await prometheus?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const push = async (url: string, doc: unknown) => {
    try {
      const res = await fetch(`${url}/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(doc) });
      return { status: res.status, body: (await res.json()) as { result: string } };
    } catch (err) {
      return { error: String((err as { cause?: unknown }).cause ?? err) };
    }
  };
  const status = async (url: string) => (await (await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as any;
  const loadedYaml = async () => ((await (await fetch(`${prometheus.url}/api/v1/status/config`)).json()) as { data: { yaml: string } }).data.yaml;
  const tempFiles = () => readdirSync(dir, { recursive: true }).map(String).filter((n) => n.includes('.promshard-tmp-'));

  /** Starts an agent with a crash point, pushes `doc`, and waits for the process to die by SIGKILL. */
  const crashDuring = async (point: string, doc: unknown) => {
    const agent = await spawnAgentProcess(args, { PROMSHARD_AGENT_CRASH_AT: point });
    const res = await push(agent.url, doc);
    assert.ok('error' in res, `the request died with the agent: ${JSON.stringify(res)}`);
    const exit = await agent.exited;
    outputs.push(agent.output());
    assert.equal(exit.signal, 'SIGKILL');
  };

  it('crash between write and rename: the previous configuration stays and is reported', async () => {
    const first = await spawnAgentProcess(args);
    assert.equal((await push(first.url, makeDoc('rev-a', 1, configA))) .body?.result, 'applied');
    first.child.kill('SIGKILL');
    await first.exited;
    outputs.push(first.output());

    await crashDuring('after-write-before-rename', makeDoc('rev-b', 2, configWithJobs({ b: ['127.0.0.1:2'] })));
    assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), configA, 'rename never happened');
    assert.equal(tempFiles().length, 1, 'the staged temp file was left behind');
    assert.ok(existsSync(join(dir, 'state', 'journal.json')), 'the journal records the interrupted apply');

    const restarted = await spawnAgentProcess(args);
    try {
      const s = await status(restarted.url);
      assert.equal(s.startup.outcome, 'interrupted-apply-old-on-disk');
      assert.match(s.startup.detail, /rev-b .*interrupted before its files were in place.*revision rev-a/);
      assert.equal(s.applied.revision, 'rev-a');
      assert.equal(s.applied.verified, true);
      assert.deepEqual(tempFiles(), [], 'temp files removed');
      assert.ok(!existsSync(join(dir, 'state', 'journal.json')), 'journal cleared');
      assert.match(restarted.output(), /"msg":"startup reconciliation".*interrupted-apply-old-on-disk/);
      // The agent works normally afterwards.
      assert.equal((await push(restarted.url, makeDoc('rev-b', 2, configWithJobs({ b: ['127.0.0.1:2'] })))).body?.result, 'applied');
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
      outputs.push(restarted.output());
    }
  });

  it('crash after the rename, before the state was recorded: the new configuration is found and verified', async () => {
    const configC = configWithJobs({ c: ['127.0.0.1:3'] });
    await crashDuring('after-rename-before-state', makeDoc('rev-c', 3, configC));
    assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), configC);
    assert.doesNotMatch(await loadedYaml(), /job_name: c/, 'Prometheus was never reloaded');

    const restarted = await spawnAgentProcess(args);
    try {
      let s = await status(restarted.url);
      assert.equal(s.startup.outcome, 'interrupted-apply-new-on-disk');
      assert.equal(s.applied.revision, 'rev-c');
      s = await waitFor('rev-c verified', async () => {
        const x = await status(restarted.url);
        return x.applied.verified && x;
      });
      assert.equal(s.lastResult.result, 'applied');
      assert.match(await loadedYaml(), /job_name: c/, 'the verification reloaded Prometheus');
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
      outputs.push(restarted.output());
    }
  });

  it('crash between the renames of a multi-file document: the mixture is replaced by the previous set', async () => {
    const configC = readFileSync(join(dir, 'prometheus.yml'), 'utf8');
    const rules = 'groups:\n  - name: d\n    rules:\n      - record: d:up\n        expr: up\n';
    const configD = configWithJobs({ d: ['127.0.0.1:4'] }) + 'rule_files: [rules/d.yml]\n';
    await crashDuring('between-renames', makeDoc('rev-d', 4, configD, [{ path: 'rules/d.yml', content: rules }]));
    // Auxiliary files are renamed first, the main file last: the crash left the new rule file beside the old main file.
    assert.equal(readFileSync(join(dir, 'rules', 'd.yml'), 'utf8'), rules);
    assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), configC);

    const restarted = await spawnAgentProcess(args);
    try {
      const s = await status(restarted.url);
      assert.equal(s.startup.outcome, 'interrupted-apply-restored-old');
      assert.equal(s.applied.revision, 'rev-c');
      assert.ok(!existsSync(join(dir, 'rules', 'd.yml')), 'the new rule file was removed with the rest of the mixture');
      assert.equal(readFileSync(join(dir, 'prometheus.yml'), 'utf8'), configC);
    } finally {
      restarted.child.kill('SIGTERM');
      const exit = await restarted.exited;
      outputs.push(restarted.output());
      assert.equal(exit.code, 0, 'SIGTERM is a clean shutdown');
    }
  });

  it('never logged the token', () => {
    const all = outputs.join('\n');
    assert.ok(all.length > 0, 'output captured');
    assert.ok(!all.includes(TOKEN), 'token absent from process logs');
  });
});
