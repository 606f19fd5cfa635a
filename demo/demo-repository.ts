// The demo's configuration repository: a copy of scrape-configs/ in a fresh git repository that the
// user edits and commits into, plus a demo team whose jobs scrape two exporters on loopback. The
// controller follows it by path; a post-commit hook tells the controller about each commit at once
// (a signed webhook), and the controller's short poll is the fallback.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pointRemoteWriteAt } from './global-receiver.ts';

export const DEMO_TEAM = 'demo';
export const DEMO_TEAM_FILE = `teams/${DEMO_TEAM}/exporters.yaml`;

export interface DemoRepository {
  dir: string;
  branch: string;
  git(...args: string[]): string;
  /** Stages everything and commits; returns the sha. */
  commit(message: string): string;
  installWebhookHook(webhookUrl: string, secret: string): void;
}

export function demoTeamFile(shard: string, healthy: string, offender: string): string {
  return `# yaml-language-server: $schema=../../../schemas/team-file.schema.json
# Added by \`promshard demo\`: two small exporters on this machine, so that the demo has live targets.
team: ${DEMO_TEAM}
shard: ${shard}
description: Exporters started by the demo on loopback.
jobs:
  - name: demo-web
    description: A healthy service (latency histogram by handler, method and code).
    targets: ["${healthy}"]
    labels: { service: demo-web }
    interval: 5s
    timeout: 4s
  - name: demo-checkout
    description: >-
      A third-party exporter that puts a UUID request_id on every series: the cardinality
      analyzer flags it on the team page with a ready metric_relabel_configs fix.
    targets: ["${offender}"]
    labels: { service: demo-checkout }
    interval: 5s
    timeout: 4s
`;
}

export function createDemoRepository(opts: {
  dir: string;
  source: string;
  demoShard: string;
  healthyTarget: string;
  offenderTarget: string;
  /** The demo's global receiver: every remote_write URL of shards.yaml is pointed at it before the first commit. */
  remoteWriteUrl?: string;
}): DemoRepository {
  const dir = opts.dir;
  if (!existsSync(join(opts.source, 'shards.yaml'))) throw new Error(`${opts.source} holds no shards.yaml: not a scrape-configs repository`);
  mkdirSync(dir, { recursive: true });
  cpSync(opts.source, dir, { recursive: true, filter: (src) => !src.split(/[\\/]/).includes('.git') });
  mkdirSync(join(dir, 'teams', DEMO_TEAM), { recursive: true });
  writeFileSync(join(dir, DEMO_TEAM_FILE), demoTeamFile(opts.demoShard, opts.healthyTarget, opts.offenderTarget));
  if (opts.remoteWriteUrl) pointRemoteWriteAt(join(dir, 'shards.yaml'), opts.remoteWriteUrl);

  const branch = 'main';
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git('init', '-q', '-b', branch);
  // Commits must work for someone without a global git identity; an existing identity is kept.
  const hasIdentity = (() => {
    try {
      return git('config', 'user.email') !== '';
    } catch {
      return false;
    }
  })();
  if (!hasIdentity) {
    git('config', 'user.name', 'promshard demo');
    git('config', 'user.email', 'demo@promshard.invalid');
  }
  git('config', 'commit.gpgsign', 'false');
  const repo: DemoRepository = {
    dir,
    branch,
    git,
    commit(message) {
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    installWebhookHook(webhookUrl, secret) {
      // Run with this very node binary; CommonJS because the repository has no package.json.
      const hook = `#!${process.execPath}
// Installed by \`promshard demo\`: tells the demo controller about a new commit at once, with a
// GitHub-style signed webhook (X-Hub-Signature-256). The controller also polls every few seconds.
const { createHmac } = require('node:crypto');
const { execFileSync } = require('node:child_process');
const url = ${JSON.stringify(webhookUrl)};
const secret = ${JSON.stringify(secret)};
let ref = 'refs/heads/${branch}';
try { ref = execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], { encoding: 'utf8' }).trim() || ref; } catch {}
const after = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const body = JSON.stringify({ ref, after });
const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
// The revision page says where the commit landed and whether the targets it added are up.
const page = url.replace('/v1/webhook', '') + '/revisions/' + after;
fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body, signal: AbortSignal.timeout(3000) })
  .then((res) => res.arrayBuffer())
  .then(() => process.stderr.write('promshard: where this commit lands and whether its new targets are up: ' + page + '\\n'))
  .catch(() => {});
`;
      const path = join(dir, '.git', 'hooks', 'post-commit');
      writeFileSync(path, hook, { mode: 0o700 });
      chmodSync(path, 0o700);
    },
  };
  repo.commit('promshard demo: scrape-configs with a demo team scraping two local exporters');
  return repo;
}
