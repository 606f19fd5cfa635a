// The promtool started ahead of the next check (PromtoolRunner) must give exactly the verdict of a fresh
// `promtool check config` (promtoolCheck), and must never outlive the agent. Real promtool, real files.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { configLayout } from '../../shard-agent/config-paths.ts';
import { promtoolCheck, PromtoolRunner } from '../../shard-agent/promtool-check.ts';
import { PROMTOOL_BIN } from '../support/prometheus.ts';
import { startAgent } from '../../shard-agent/start-agent.ts';
import { configWithJobs, makeDoc, SHARD, startFixture, TOKEN, waitFor } from './helpers.ts';

const RULES = 'groups:\n  - name: demo\n    rules:\n      - record: demo:up\n        expr: demo_up\n';
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('promtool waiting for the next check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-promtool-runner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = configLayout(join(dir, 'config', 'prometheus.yml'));
  mkdirSync(layout.configDir, { recursive: true });
  mkdirSync(join(dir, 'state'));
  // A rule file already in the config directory, referenced relatively by some documents below.
  mkdirSync(join(layout.configDir, 'kept'));
  writeFileSync(join(layout.configDir, 'kept', 'old.yml'), RULES);

  const cases: { name: string; files: { path: string; content: string }[] }[] = [
    { name: 'a valid file', files: [{ path: 'prometheus.yml', content: 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    static_configs: [{targets: ["127.0.0.1:1"]}]\n' }] },
    { name: 'a duplicate job', files: [{ path: 'prometheus.yml', content: 'scrape_configs:\n  - job_name: a\n  - job_name: a\n' }] },
    { name: 'a rule file of the document', files: [{ path: 'prometheus.yml', content: 'rule_files: [rules/demo.yml]\n' }, { path: 'rules/demo.yml', content: RULES }] },
    { name: 'a rule file already in the config directory', files: [{ path: 'prometheus.yml', content: 'rule_files: [kept/old.yml]\n' }] },
    // The document's kept/new.yml joins the config directory's kept/ (linked while promtool waited): old.yml stays beside it.
    { name: "a document file in a directory of the config directory's", files: [{ path: 'prometheus.yml', content: 'rule_files: [kept/old.yml, kept/new.yml]\n' }, { path: 'kept/new.yml', content: RULES }] },
    { name: 'a missing rule file', files: [{ path: 'prometheus.yml', content: 'rule_files: [rules/absent.yml]\n' }] },
    // promtool reads the files a file_sd glob matches, here the main file itself, a second time.
    { name: 'a file_sd glob matching the main file', files: [{ path: 'prometheus.yml', content: 'scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: ["*.yml"]}]\n' }] },
    { name: 'a missing credentials file', files: [{ path: 'prometheus.yml', content: 'scrape_configs:\n  - job_name: a\n    authorization: {credentials_file: secrets/token}\n' }] },
  ];

  for (const c of cases) {
    it(`gives the verdict of a fresh promtool for ${c.name}`, async () => {
      const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'state'), false);
      try {
        await runner.warm();
        assert.ok(runner.waitingPid, 'a promtool is waiting');
        const warm = await runner.check(c.files);
        const fresh = await promtoolCheck(PROMTOOL_BIN, layout, c.files, join(dir, 'state'));
        assert.deepEqual({ ok: warm.ok, error: 'error' in warm ? warm.error : undefined }, { ok: fresh.ok, error: 'error' in fresh ? fresh.error : undefined });
      } finally {
        await runner.close();
      }
    });
  }

  it("sees a document's file beside the files its directory holds in the config directory, waiting or fresh (they stay there after the apply)", async () => {
    mkdirSync(join(layout.configDir, 'secrets'));
    writeFileSync(join(layout.configDir, 'secrets', 'operator-token'), 'x\n');
    try {
      const jobs = ['operator-token', 'doc-token'].map((f, i) => `  - job_name: j${i}\n    authorization: {credentials_file: secrets/${f}}\n    static_configs: [{targets: ["127.0.0.1:${i + 1}"]}]\n`);
      const files = [{ path: 'prometheus.yml', content: `scrape_configs:\n${jobs.join('')}` }, { path: 'secrets/doc-token', content: 'y\n' }];
      const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'state'), false);
      try {
        await runner.warm();
        assert.equal(await runner.waitingOpened(), true);
        const warm = await runner.check(files);
        const fresh = await promtoolCheck(PROMTOOL_BIN, layout, files, join(dir, 'state'));
        assert.deepEqual([warm.ok, fresh.ok], [true, true], JSON.stringify([warm, fresh]));
      } finally {
        await runner.close();
      }
    } finally {
      rmSync(join(layout.configDir, 'secrets'), { recursive: true });
    }
  });

  it('does not see the files this apply removes, waiting or fresh; their neighbours stay', async () => {
    writeFileSync(join(layout.configDir, 'kept', 'other.yml'), RULES);
    try {
      for (const [config, ok] of [['rule_files: [kept/old.yml]\n', false], ['rule_files: [kept/other.yml]\n', true]] as const) {
        const files = [{ path: 'prometheus.yml', content: config }];
        const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'state'), false);
        try {
          await runner.warm();
          assert.equal(await runner.waitingOpened(), true);
          const warm = await runner.check(files, ['kept/old.yml']);
          const fresh = await promtoolCheck(PROMTOOL_BIN, layout, files, join(dir, 'state'), 30000, false, ['kept/old.yml']);
          assert.deepEqual([warm.ok, fresh.ok], [ok, ok], `${config}: ${JSON.stringify([warm, fresh])}`);
        } finally {
          await runner.close();
        }
      }
    } finally {
      rmSync(join(layout.configDir, 'kept', 'other.yml'));
    }
  });

  it('a scratch directory removed while promtool waited (a tmp cleaner) gives way to a fresh promtool', async () => {
    const state = join(dir, 'cleaned');
    mkdirSync(state);
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, state, false);
    try {
      await runner.warm();
      assert.equal(await runner.waitingOpened(), true);
      const scratch = join(state, readdirSync(state).find((n) => /^promtool-[^.]+$/.test(n))!);
      rmSync(scratch, { recursive: true });
      // The document's own rule file recreates the directory, without the links to the config directory.
      const v = await runner.check([{ path: 'prometheus.yml', content: 'rule_files: [kept/old.yml, rules/demo.yml]\n' }, { path: 'rules/demo.yml', content: RULES }]);
      assert.equal(v.ok, true, JSON.stringify(v));
    } finally {
      await runner.close();
    }
  });

  it('a check right after start-up, while the left-overs of a killed agent are being cleared, is not cleared with them', async () => {
    const state = join(dir, 'start-up');
    mkdirSync(state);
    for (let i = 0; i < 5; i++) {
      const runner = new PromtoolRunner(PROMTOOL_BIN, layout, state, false);
      try {
        // An apply at start-up finds no promtool waiting yet and checks with a fresh one, in a scratch
        // directory of the same form as those left behind.
        void runner.warm();
        const v = await runner.check(cases[0].files);
        assert.equal(v.ok, true, JSON.stringify(v));
      } finally {
        await runner.close();
      }
    }
  });

  it('sees entries that appeared in the config directory while promtool waited', async () => {
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'state'), false);
    try {
      await runner.warm();
      await runner.waitingOpened();
      writeFileSync(join(layout.configDir, 'late.yml'), RULES);
      const v = await runner.check([{ path: 'prometheus.yml', content: 'rule_files: [late.yml]\n' }]);
      assert.equal(v.ok, true, JSON.stringify(v));
    } finally {
      rmSync(join(layout.configDir, 'late.yml'), { force: true });
      await runner.close();
    }
  });

  it('falls back to a fresh promtool when the waiting one was killed', async () => {
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'state'), false);
    try {
      await runner.warm();
      const pid = runner.waitingPid!;
      process.kill(pid, 'SIGKILL');
      await waitFor('killed', () => !alive(pid) || undefined);
      const v = await runner.check(cases[1].files);
      assert.equal(v.ok, false);
      assert.match('error' in v ? v.error : '', /found multiple scrape configs with job name "a"/);
    } finally {
      await runner.close();
    }
  });

  it('a state directory given by a relative path or through a symlink still gets a promtool seen reading its FIFO', async () => {
    symlinkSync(join(dir, 'state'), join(dir, 'state-link'));
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const parent of [join(dir, 'state-link'), 'state']) {
        const runner = new PromtoolRunner(PROMTOOL_BIN, layout, parent, false);
        try {
          await runner.warm();
          const started = performance.now();
          // /proc shows the FIFO by its real path: compared with the given one, the open was never seen.
          assert.equal(await runner.waitingOpened(), true, `${parent}: the waiting promtool was seen opening its FIFO`);
          assert.ok(performance.now() - started < 1500, `${parent}: seen at once, not after the 2 s give-up`);
          assert.equal((await runner.check(cases[0].files)).ok, true);
        } finally {
          await runner.close();
        }
      }
    } finally {
      process.chdir(cwd);
    }
  });

  it('a config directory entry that links to a directory holding the state directory is not linked in (no loop)', async () => {
    const outer = join(dir, 'outer');
    mkdirSync(join(outer, 'state'), { recursive: true });
    symlinkSync(outer, join(layout.configDir, 'up'));
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(outer, 'state'), false);
    try {
      await runner.warm();
      assert.equal(await runner.waitingOpened(), true);
      const scratch = readdirSync(join(outer, 'state')).find((n) => /^promtool-[^.]+$/.test(n))!;
      const linked = readdirSync(join(outer, 'state', scratch));
      assert.ok(linked.includes('kept'), `other entries are linked: ${linked.join(', ')}`);
      assert.ok(!linked.includes('up'), `the link holding the state directory is not: ${linked.join(', ')}`);
      assert.equal((await runner.check(cases[3].files)).ok, true);
    } finally {
      await runner.close();
      rmSync(join(layout.configDir, 'up'));
    }
  });

  it('a promtool killed during the check (not by the agent) gives way to a fresh one: its death is no verdict', async () => {
    const state = join(dir, 'killed-mid-check');
    mkdirSync(state);
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, state, false);
    try {
      await runner.warm();
      assert.equal(await runner.waitingOpened(), true);
      const pid = runner.waitingPid!;
      const scratch = join(state, readdirSync(state).find((n) => /^promtool-[^.]+$/.test(n))!);
      // Large enough that promtool is still checking when the kill lands.
      const jobs = Array.from({ length: 20_000 }, (_, i) => `  - job_name: j${i}\n    static_configs: [{targets: ["127.0.0.1:${1000 + i}"]}]\n`);
      const checking = runner.check([{ path: 'prometheus.yml', content: `scrape_configs:\n${jobs.join('')}` }]);
      // The FIFO is replaced by a regular copy just before the agent closes its end: promtool has the
      // configuration from then on, and is killed while it checks.
      await waitFor('the configuration handed over', () => (lstatSync(join(scratch, 'prometheus.yml'), { throwIfNoEntry: false })?.isFile() ? true : undefined), 5000, 1);
      process.kill(pid, 'SIGKILL');
      const v = await checking;
      assert.deepEqual(v.ok, true, JSON.stringify(v));
    } finally {
      await runner.close();
    }
  });

  it('a refusal whose text is megabytes (promtool quotes a 5 MB regex) is a refusal, waiting or fresh, its text bounded', async () => {
    const files = [{ path: 'prometheus.yml', content: `scrape_configs:\n  - job_name: a\n    relabel_configs: [{source_labels: [a], regex: "((((${'a'.repeat(5 << 20)}"}]\n` }];
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'state'), false);
    try {
      await runner.warm();
      for (const v of [await runner.check(files), await promtoolCheck(PROMTOOL_BIN, layout, files, join(dir, 'state'))]) {
        assert.equal(v.ok, false, 'refused (the fresh promtool overflowed its output buffer and the check was skipped)');
        const error = 'error' in v ? v.error : '';
        assert.match(error, /^promtool check config failed: .*error parsing regexp/s);
        assert.ok(error.length < 20_000, `bounded: ${error.length}`);
      }
    } finally {
      await runner.close();
    }
  });

  it('a promtool that can no longer run (removed after start) refuses the document instead of letting it through unchecked', async () => {
    const copy = join(dir, 'promtool-copy');
    copyFileSync(PROMTOOL_BIN, copy);
    chmodSync(copy, 0o755);
    const runner = new PromtoolRunner(copy, layout, join(dir, 'state'), false);
    try {
      rmSync(copy);
      const v = await runner.check(cases[0].files);
      assert.deepEqual(v.ok, false, JSON.stringify(v));
      assert.equal('error' in v ? v.error : '', `promtool check config gave no verdict: promtool at ${copy} could not run (ENOENT)`);
    } finally {
      await runner.close();
    }
  });

  it('a fresh promtool that gives no verdict in time is said to have given none, not quoted as if it complained', async () => {
    const v = await promtoolCheck(PROMTOOL_BIN, layout, cases[0].files, join(dir, 'state'), 1);
    assert.equal(v.ok, false);
    assert.equal('error' in v ? v.error : '', 'promtool check config failed: no verdict within 1 ms');
  });

  /** A separate Node process that starts a waiting promtool, prints its pid (once promtool has its FIFO open if `opened`) and idles. */
  const agentLike = async (opened: boolean) => {
    const script = `
      import { PromtoolRunner } from ${JSON.stringify(new URL('../../shard-agent/promtool-check.ts', import.meta.url).pathname)};
      import { configLayout } from ${JSON.stringify(new URL('../../shard-agent/config-paths.ts', import.meta.url).pathname)};
      const r = new PromtoolRunner(${JSON.stringify(PROMTOOL_BIN)}, configLayout(${JSON.stringify(layout.configFile)}), ${JSON.stringify(join(dir, 'orphans'))}, false);
      await r.warm();
      ${opened ? 'await r.waitingOpened();' : ''}
      console.log(r.waitingPid);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], cwd: new URL('../..', import.meta.url).pathname });
    const pid = await new Promise<number>((resolve) => child.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
    assert.ok(pid > 0 && alive(pid), `waiting promtool ${pid} alive`);
    return { child, pid };
  };
  mkdirSync(join(dir, 'orphans'));

  it('leaves no promtool behind when the agent process is killed', async () => {
    const { child, pid } = await agentLike(true);
    child.kill('SIGKILL');
    await waitFor('the waiting promtool exits with the agent', () => !alive(pid) || undefined, 5000);
  });

  it('a promtool left blocked by an agent killed right after starting it is released by the next agent', async () => {
    const { child, pid } = await agentLike(false);
    child.kill('SIGKILL');
    const runner = new PromtoolRunner(PROMTOOL_BIN, layout, join(dir, 'orphans'), false);
    try {
      await runner.warm();
      await waitFor('the left-over promtool exits', () => !alive(pid) || undefined, 5000);
    } finally {
      await runner.close();
    }
  });
});

describe('promtool sees the config directory as it will be after the apply (real agent, real Prometheus)', () => {
  it('refuses a document referencing files of the applied document that it removes (nested and top level)', async () => {
    const fx = await startFixture({ promtool: PROMTOOL_BIN });
    try {
      const jobs = ['secrets/token', 'top-token'].map((f, i) => `  - job_name: j${i}\n    authorization: {credentials_file: ${f}}\n    static_configs: [{targets: ["127.0.0.1:${i + 1}"]}]\n`);
      const config = (n: number) => configWithJobs({}).replace('scrape_configs: []', `scrape_configs:\n${jobs.join('')}`) + `# ${n}\n`;
      const credentials = [{ path: 'secrets/token', content: 'x\n' }, { path: 'top-token', content: 'y\n' }];
      assert.equal((await fx.post('/v1/apply', makeDoc('r1', 1, config(1), credentials))).body.result, 'applied');
      // Linked in from the config directory, where they still are, the two files let promtool pass a
      // document whose apply deletes them: Prometheus then reads credentials that are gone.
      for (const [i, kept] of [[], [credentials[0]], [credentials[1]]].entries()) {
        const res = await fx.post('/v1/apply', makeDoc(`r${i + 2}`, i + 2, config(i + 2), kept));
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.match(res.body.error, /promtool check config failed: .*(secrets\/token|top-token)/s);
      }
      assert.ok(existsSync(join(fx.dir, 'secrets', 'token')) && existsSync(join(fx.dir, 'top-token')), 'nothing removed');
      assert.equal((await fx.post('/v1/apply', makeDoc('r5', 5, config(5), credentials))).body.result, 'applied');
    } finally {
      await fx.close();
    }
  });
});

describe("the agent's state directory", () => {
  it('is refused at start when it is the config directory, named as such or through a symlink (the agent took a document directory named promtool-* for its own scratch and deleted it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-state-is-config-'));
    try {
      symlinkSync(dir, `${dir}-link`);
      for (const stateDir of [dir, `${dir}-link`, `${dir}/.`]) {
        const started = startAgent({ shard: SHARD, replica: 'a', prometheusUrl: 'http://127.0.0.1:1', configFile: join(dir, 'prometheus.yml'), stateDir, token: TOKEN, promtool: null, defaultMetrics: false, logWrite: () => undefined });
        const error = await started.then(
          async (agent) => (await agent.close(), 'started'),
          (err: Error) => err.message,
        );
        assert.match(error, /--state-dir .* is the directory of --config-file .*: give the agent a directory of its own/, stateDir);
      }
    } finally {
      rmSync(`${dir}-link`, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused at start when --promtool names a missing file, a directory or a file that cannot run (checks were skipped, with a warning per apply)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promshard-bad-promtool-'));
    try {
      writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
      for (const promtool of [join(dir, 'absent'), dir, join(dir, 'not-executable')]) {
        const error = await startAgent({ shard: SHARD, replica: 'a', prometheusUrl: 'http://127.0.0.1:1', configFile: join(dir, 'prometheus.yml'), stateDir: join(dir, 'state'), token: TOKEN, promtool, defaultMetrics: false, logWrite: () => undefined }).then(
          async (agent) => (await agent.close(), 'started'),
          (err: Error) => err.message,
        );
        assert.equal(error, `promtool at ${promtool} is not an executable file`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
