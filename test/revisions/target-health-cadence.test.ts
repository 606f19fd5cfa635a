// The target-health watch asks less often for jobs with long scrape intervals (a quarter of the
// interval, at most 5 s, never under its poll setting), yet reports the same first scrape: the
// scrape's time Prometheus itself stored as the first sample of the target's `up` series. Real git,
// controller, agent and Prometheus; the agent's calls are counted on Prometheus's own
// prometheus_http_requests_total{handler="/api/v1/targets"}.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rmSync } from 'node:fs';
import type { RunningController } from '../../central-controller/start-controller.ts';
import { roundGapMs } from '../../central-controller/target-health-watch.ts';
import { api, GitRepo, launchController, metricValue, newControllerPort, READ_TOKEN, startReplica, stopReplica, teamFile, tempDir, waitFor, webhook, type Replica } from '../controller/helpers.ts';

// 8 s scrapes: the watch's rounds are 2 s apart although it is set to ask every 250 ms.
const SHARDS_YAML = `defaults:
  interval: 8s
  timeout: 1s
shards:
  - name: apps
    replicas: 1
    budget: { max_series: 100000, max_targets: 100 }
`;
const POLL_MS = 250;

describe('target health watch: rounds follow the scrape interval', () => {
  it('the gap is the poll setting, or a quarter of the scrape interval when longer, at most 5 s', () => {
    assert.equal(roundGapMs(1000, undefined), 1000);
    assert.equal(roundGapMs(1000, 1000), 1000);
    assert.equal(roundGapMs(250, 8000), 2000);
    assert.equal(roundGapMs(1000, 20_000), 5000);
    assert.equal(roundGapMs(1000, 3_600_000), 5000);
    assert.equal(roundGapMs(10_000, 20_000), 10_000, 'a longer poll setting is kept');
  });
});

describe('target health watch on an 8 s scrape interval (1 replica, real Prometheus)', () => {
  let repo: GitRepo;
  let controller: RunningController;
  let stateDir: string;
  let replica: Replica;
  let selfAddress: string;
  const logs: string[] = [];

  before(async () => {
    repo = new GitRepo();
    const first = repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/web/web.yaml': teamFile('web', 'apps', { frontend: ['127.0.0.1:9'] }) });
    stateDir = tempDir('promshard-cadence-state-');
    const port = await newControllerPort();
    replica = await startReplica('apps', 'a', `http://127.0.0.1:${port}`, logs);
    controller = await launchController(repo, stateDir, port, { pollMs: 60_000, targetHealthPollMs: POLL_MS, targetHealthBoundMs: 40_000 }, logs);
    await waitFor('first revision applied', () => replica.agent.status().applied?.revision === first, 20_000);
    selfAddress = new URL(replica.prometheus.url).host; // Prometheus scrapes its own /metrics: up
  });

  after(async () => {
    await controller?.close();
    if (replica) await stopReplica(replica);
    repo?.destroy();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** Commits `yaml` as the web team's file and waits until the watch settled; the calls it made meanwhile. */
  async function commitAndSettle(yaml: string, message: string) {
    const targetCalls = () => metricValue(replica.prometheus.url, 'prometheus_http_requests_total', { handler: '/api/v1/targets' });
    const before = await targetCalls();
    const sha = repo.commit({ 'teams/web/web.yaml': yaml }, message);
    assert.equal(await webhook(controller.url), 202);
    const life = await waitFor('the new target settled', async () => {
      const { body } = await api(controller.url, `/v1/revisions/${sha}`, READ_TOKEN);
      return body.shards?.apps?.targetsSettled ? body.shards.apps : null;
    }, 45_000, 100);
    const settledAt = Date.now();
    return { life, calls: (await targetCalls()) - before, watchedMs: settledAt - Date.parse(life.replicas.a.appliedAt) };
  }

  /** The time of the first sample Prometheus stored for `selector` (ms): its first successful scrape. */
  async function firstSample(selector: string): Promise<number> {
    const res = await fetch(`${replica.prometheus.url}/api/v1/query?query=${encodeURIComponent(`up${selector}[5m]`)}`);
    const body = (await res.json()) as { data: { result: { values: [number, string][] }[] } };
    const values = body.data.result.flatMap((r) => r.values).filter(([, v]) => v === '1');
    assert.ok(values.length > 0, `no sample of up${selector}`);
    return Math.min(...values.map(([t]) => t * 1000));
  }

  it('an added target: its first scrape exactly, with a round every 2 s rather than every 250 ms', async () => {
    const { life, calls, watchedMs } = await commitAndSettle(teamFile('web', 'apps', { frontend: ['127.0.0.1:9'], selfscrape: [selfAddress] }), 'web: add selfscrape');
    const t = life.targets.find((x: { job: string }) => x.job === 'selfscrape');
    assert.equal(t.change, 'added');
    assert.equal(t.health, 'up');
    assert.ok(Math.abs(Date.parse(t.firstScrapeAt) - (await firstSample('{job="selfscrape"}'))) <= 1, `firstScrapeAt ${t.firstScrapeAt} is Prometheus's first sample`);
    assert.ok(calls >= 1 && calls <= Math.ceil(watchedMs / 2000) + 1, `${calls} calls in ${watchedMs} ms of watching (a 250 ms cadence would make ${Math.floor(watchedMs / POLL_MS)})`);
  });

  it('a changed target: its first scrape under the new settings exactly, the baseline read at once', async () => {
    const yaml = `team: web\nshard: apps\njobs:\n  - name: frontend\n    targets: ["127.0.0.1:9"]\n  - name: selfscrape\n    targets: ["${selfAddress}"]\n    labels: { tier: "gold" }\n`;
    const { life, calls, watchedMs } = await commitAndSettle(yaml, 'web: label selfscrape');
    const t = life.targets.find((x: { job: string }) => x.job === 'selfscrape');
    assert.equal(t.change, 'changed');
    assert.equal(t.health, 'up');
    // The new label makes a new series: its first sample is the first scrape under this revision.
    assert.ok(Math.abs(Date.parse(t.firstScrapeAt) - (await firstSample('{job="selfscrape",tier="gold"}'))) <= 1, `firstScrapeAt ${t.firstScrapeAt} is the first sample with the new label`);
    assert.ok(calls >= 2 && calls <= Math.ceil(watchedMs / 2000) + 2, `${calls} calls in ${watchedMs} ms of watching`);
  });
});
