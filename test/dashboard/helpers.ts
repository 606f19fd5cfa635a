// Fixtures for the dashboard tests: a real git repository, a real controller (with its dashboard),
// real Prometheus servers with their agents (and the cardinality analyzer), real exporters, and
// headless Chromium driven by playwright-core.
import { waitFor as waitUntil } from '../support/wait-for.ts';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { signWebhookBody } from '../../core/http/auth.ts';
import { createLogger } from '../../core/log/logger.ts';
import { startController, type RunningController } from '../../central-controller/start-controller.ts';
import { ProcessTracker } from '../../demo/processes.ts';
import { startReplica, type RunningReplica } from '../../demo/replica.ts';
import { createGitRepo, type TestGitRepo } from '../support/git-repo.ts';
import { family, fakeUuid, healthyServiceBody, line, startExporter, type Exporter } from '../support/exporters.ts';
import { PROMETHEUS_BIN, PROMTOOL_BIN, prometheusInstalled } from '../support/prometheus.ts';
import { existsSync } from 'node:fs';

export const ADMIN_TOKEN = 'dashboard-admin-token-7c1e9';
export const READ_TOKEN = 'dashboard-read-token-42f0a';
export const WEBHOOK_SECRET = 'dashboard-webhook-secret-9d8b';
export const SCREENSHOTS = join(process.cwd(), 'test-artifacts', 'screenshots');

export const XSS_LABEL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
// Job names cannot hold markup since the job-name rule (letters, digits, _ . : -); the markup payloads
// travel in a label value instead, which may hold any printable character.
export const XSS_JOB = 'xss-job';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function browserAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function fleetAvailable(): boolean {
  return prometheusInstalled() && browserAvailable();
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

export const SHARDS_YAML = `defaults:
  interval: 1s
  timeout: 1s
  limits: { sample_limit: 50000, label_limit: 40 }
  max_limits: { sample_limit: 100000, label_limit: 60 }
shards:
  - name: apps
    description: The shard the dashboard tests run with real Prometheus replicas.
    replicas: 2
    budget: { max_series: 20000, max_targets: 20 }
    external_labels: { shard: apps }
  - name: spare
    description: A shard without agents.
    replicas: 2
    budget: { max_series: 1000, max_targets: 10 }
`;

export function paymentsFile(webTarget: string, checkoutTarget: string, extraTargets: string[] = []): string {
  return `team: payments
shard: apps
jobs:
  - name: payments-web
    targets: ${JSON.stringify([webTarget, ...extraTargets])}
    labels: { service: web }
  - name: checkout
    targets: ["${checkoutTarget}"]
    labels: { service: checkout }
`;
}

export function xssFile(target: string): string {
  return `team: xss-team
shard: apps
jobs:
  - name: '${XSS_JOB}'
    targets: ["${target}"]
    labels: { note: '${XSS_LABEL}' }
`;
}

export const SPARE_FILE = `team: storage-ops
shard: spare
jobs:
  - name: spare-node
    targets: ["spare1.internal:9100", "spare2.internal:9100"]
`;

export interface TestFleet {
  git: TestGitRepo;
  controller: RunningController;
  replicas: RunningReplica[];
  exporters: { web: Exporter; checkout: Exporter };
  logs: string[];
  url: string;
  /** Commits the working tree and sends a signed webhook; returns the sha. */
  commitAndNotify(message: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestFleet(opts: { replicas?: number; openRead?: boolean } = {}): Promise<TestFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'promshard-dash-'));
  const logs: string[] = [];
  const log = createLogger({ component: 'test', level: 'info', write: (l) => logs.push(l) });
  const web = await startExporter(() => healthyServiceBody());
  // A third-party exporter with a UUID request id on every series: the planted cardinality offender.
  const checkout = await startExporter(() => {
    const rows: string[] = [];
    for (let i = 0; i < 400; i++) rows.push(line('checkout_requests_total', { request_id: fakeUuid(i, 3), method: i % 2 ? 'GET' : 'POST' }, i));
    return family('checkout_requests_total', 'counter', rows);
  });
  const git = createGitRepo({
    'shards.yaml': SHARDS_YAML,
    'teams/payments/api.yaml': paymentsFile(web.target, checkout.target),
    'teams/xss-team/evil.yaml': xssFile(web.target),
    'teams/storage-ops/spare.yaml': SPARE_FILE,
  });
  const controller = await startController({
    repo: git.dir,
    stateDir: join(dir, 'controller'),
    token: ADMIN_TOKEN,
    readToken: READ_TOKEN,
    webhookSecret: WEBHOOK_SECRET,
    openReadAccess: opts.openRead ?? true,
    pollMs: 0, // commits arrive by webhook only: the tests prove the push path
    reconcileMs: 500,
    usageRefreshMs: 1000,
    heartbeatTimeoutMs: 10_000,
    failureRetryBaseMs: 1000,
    defaultMetrics: false,
    log: log.child({ component: 'controller' }),
  });
  const tracker = new ProcessTracker();
  const replicas: RunningReplica[] = [];
  const names = Array.from({ length: opts.replicas ?? 2 }, (_, i) => String.fromCharCode(97 + i));
  try {
    for (const replica of names) {
      replicas.push(
        await startReplica({
          shard: 'apps',
          replica,
          dir: join(dir, 'replicas'),
          prometheusBin: PROMETHEUS_BIN,
          promtool: existsSync(PROMTOOL_BIN) ? PROMTOOL_BIN : null,
          tracker,
          controllerUrl: controller.url,
          token: ADMIN_TOKEN,
          log,
          heartbeatMs: 300,
          pullIntervalMs: 5000,
          probeIntervalMs: 300,
          analyzerIntervalMs: 600_000, // on demand only (POST /v1/cardinality/analyze)
          analyzerInitialDelayMs: 600_000,
        }),
      );
    }
  } catch (err) {
    await controller.close();
    await tracker.stopAll();
    throw err;
  }
  return {
    git,
    controller,
    replicas,
    exporters: { web, checkout },
    logs,
    url: controller.url,
    async commitAndNotify(message) {
      const sha = git.commit(message);
      const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
      const res = await fetch(`${controller.url}/v1/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, WEBHOOK_SECRET) }, body });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
      return sha;
    },
    async close() {
      for (const r of replicas) await r.close().catch(() => undefined);
      await controller.close();
      await tracker.stopAll();
      tracker.dispose();
      await web.close();
      await checkout.close();
      git.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const waitFor: typeof waitUntil = (what, fn, timeoutMs = 15_000, everyMs = 100) => waitUntil(what, fn, timeoutMs, everyMs);
