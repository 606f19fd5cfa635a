// `promshard agent-token --split I` prints the credential of one split's replica: scoped to
// <shard>.s<I>, so the controller refuses it for any other split (test/controller/splits.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveAgentToken, verifyAgentToken } from '../../core/http/agent-credential.ts';
import { PROMSHARD_BIN } from '../support/fleet.ts';

test('agent-token --split: the token names the split; without --split the shard as before; a bad --split is a usage error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-split-token-'));
  try {
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'split-token-secret-0123456789\n');
    const run = (...args: string[]) => spawnSync(process.execPath, [PROMSHARD_BIN, 'agent-token', '--secret-file', secretFile, ...args], { encoding: 'utf8' });
    const split = run('--shard', 'web', '--split', '1', '--replica', 'a');
    assert.equal(split.status, 0, split.stderr);
    assert.deepEqual(verifyAgentToken(split.stdout.trim(), 'split-token-secret-0123456789'), { shard: 'web.s1', replica: 'a' });
    const plain = run('--shard', 'web', '--replica', 'a');
    assert.equal(plain.stdout.trim(), deriveAgentToken('split-token-secret-0123456789', { shard: 'web', replica: 'a' }));
    const bad = run('--shard', 'web', '--split', 'one', '--replica', 'a');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--split "one" must be a split number/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
