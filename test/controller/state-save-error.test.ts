// A state directory that cannot take agents.json (here a directory stands where the file goes, which
// fails the rename even for root) costs the file, not the controller: registrations keep working, and
// /healthz says why the file is not saved, until a save succeeds again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { api, GitRepo, launchController, newControllerPort, SHARDS_YAML, tempDir, waitFor } from './helpers.ts';

test('/healthz shows an agents.json that cannot be saved, and clears it once one is saved', { timeout: 30_000 }, async () => {
  const repo = new GitRepo();
  const stateDir = tempDir('promshard-save-error-');
  const port = await newControllerPort();
  const url = `http://127.0.0.1:${port}`;
  repo.commit({ 'shards.yaml': SHARDS_YAML });
  const ctl = await launchController(repo, stateDir, port);
  try {
    mkdirSync(join(stateDir, 'agents.json', 'blocker'), { recursive: true });
    const register = (replica: string) => api(url, '/v1/agents/register', undefined, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shard: 'networking', replica, url: 'http://127.0.0.1:9' }) });
    assert.equal((await register('a')).status, 200);
    const health = await waitFor('the save error on /healthz', async () => {
      const h = await api(url, '/healthz', null);
      return h.body.detail.agentsFileError ? h : undefined;
    }, 5000, 100);
    assert.equal(health.status, 200, 'still healthy: the fleet runs on');
    assert.match(health.body.detail.agentsFileError, /agents\.json/);
    rmSync(join(stateDir, 'agents.json'), { recursive: true, force: true });
    assert.equal((await register('b')).status, 200);
    await waitFor('the error cleared', async () => (await api(url, '/healthz', null)).body.detail.agentsFileError === null, 5000, 100);
  } finally {
    await ctl.close();
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
