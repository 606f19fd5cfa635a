// One reshard under a steady scrape, with real parts, for the reshard test and bench/reshard-overlap.ts:
// a real global receiver (--web.enable-remote-write-receiver), real exporters, an in-process
// controller, and one real agent + Prometheus 2.42 per split, every split remote-writing `up`. The
// shard goes from split `from` to split `to`; the result says where each target was scraped from, at
// the receiver, and how often each exporter was scraped before, during and after the change.
import { rmSync } from 'node:fs';
import { splitOfTarget } from '../../core/placement/hashmod.ts';
import { compileFiles } from './repo-fixture.ts';
import { startExporter, type Exporter } from './exporters.ts';
import { activeAddresses, startPrometheus, type RunningPrometheus } from './prometheus.ts';
import { allOnRevision, api, GitRepo, launchController, newControllerPort, startReplica, stopReplica, tempDir, waitFor, webhook, type Replica } from '../controller/helpers.ts';

export const reshardShardsYaml = (receiver: string, split: number, intervalS = 1, replicas = 1) => `defaults: { interval: ${intervalS}s, timeout: 1s }
remote_write:
  - name: global
    url: ${receiver}/api/v1/write
    queue_config: { batch_send_deadline: 1s, max_shards: 1, min_backoff: 100ms, max_backoff: 1s }
    write_relabel_configs:
      - source_labels: [__name__]
        regex: up
        action: keep
shards:
  - name: web
    replicas: ${replicas}
    split: ${split}
    budget: { max_series: 100000, max_targets: 1000 }
`;

const teamFile = (targets: string[], extraJobs = '') => `team: web\nshard: web\njobs:\n  - name: web-nodes\n    targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]\n${extraJobs}`;

/** Raw `up` samples at the receiver over the last `seconds`, by instance: each sample's time (s) and the split and replica that sent it. */
export async function upSamples(receiver: RunningPrometheus, seconds: number): Promise<Map<string, { t: number; split: string; replica: string }[]>> {
  const q = encodeURIComponent(`up{job="web-nodes"}[${seconds}s]`);
  const body = (await (await fetch(`${receiver.url}/api/v1/query?query=${q}`)).json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
  const out = new Map<string, { t: number; split: string; replica: string }[]>();
  for (const series of body.data.result) {
    const list = out.get(series.metric.instance!) ?? [];
    for (const [t] of series.values) list.push({ t, split: series.metric.promshard_split ?? '', replica: series.metric.replica ?? '' });
    out.set(series.metric.instance!, list);
  }
  return out;
}

/** The longest time (ms) between two samples of `list` (any split) inside [fromS, toS]. */
export function longestGapMs(list: readonly { t: number }[], fromS: number, toS: number): number {
  const times = [...new Set(list.map((s) => Math.round(s.t * 1000)))].sort((a, b) => a - b).filter((t) => t >= fromS * 1000 && t <= toS * 1000);
  let worst = 0;
  for (let i = 1; i < times.length; i++) worst = Math.max(worst, times[i]! - times[i - 1]!);
  return times.length < 2 ? Infinity : worst;
}

export interface ReshardScenarioOptions {
  targets: number;
  from: number;
  to: number;
  /** --reshard-overlap-max in ms; 0 switches without overlap. */
  boundMs: number;
  /** Scrape interval in seconds (default 1). */
  intervalS?: number;
  /** How many of the targets that move are shut down just before the change (their exporters closed): down under both splits. */
  downMoved?: number;
  /** More jobs for the team file, as YAML list items indented under `jobs:` (e.g. a discovery job). */
  extraJobs?: string;
  /** Replicas per split (default 1), named a, b, … */
  replicas?: number;
  /** Units whose replicas are started only during the overlap (a new split whose Prometheus comes up late): by `startLate`, else right after `duringOverlap`. */
  lateUnits?: string[];
  /** Called while the overlap is in progress (only when there is one), with the controller's URL, the /v1/reshards entry, and what starts the late units' replicas. */
  duringOverlap?: (url: string, active: any, startLate: () => Promise<void>) => Promise<void>;
  /** Called at the end, while the controller still runs. */
  atEnd?: (url: string) => Promise<void>;
}

export interface ReshardScenarioResult {
  targets: string[];
  moved: string[];
  oldUnit: Map<string, string>;
  newUnit: Map<string, string>;
  /** Seconds since the epoch: the commit that changes the layout, and when every split kept exactly its new share. */
  changedAt: number;
  endedAt: number;
  /** The finished reshard as /v1/reshards tells it (null without overlap). */
  reshard: any;
  samples: Map<string, { t: number; split: string; replica: string }[]>;
  /** Scrapes each exporter served from the change to the end, and over the same length of time after it (the steady reference). */
  scrapesDuring: Map<string, number>;
  scrapesAfter: Map<string, number>;
  /** How long the steady reference after the end lasted, in seconds. */
  steadySeconds: number;
}

export async function runReshardScenario(o: ReshardScenarioOptions): Promise<ReshardScenarioResult> {
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const receiver = await startPrometheus({ extraArgs: ['--web.enable-remote-write-receiver'] });
    cleanups.push(() => receiver.destroy());
    const exporters: Exporter[] = [];
    for (let i = 0; i < o.targets; i++) exporters.push(await startExporter(() => 'demo_value 1\n'));
    cleanups.push(async () => {
      for (const e of exporters) await e.close();
    });
    const targets = exporters.map((e) => e.target);
    const repo = new GitRepo();
    cleanups.push(() => repo.destroy());
    const stateDir = tempDir('promshard-reshard-ctl-');
    cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
    const port = await newControllerPort();
    const url = `http://127.0.0.1:${port}`;
    const before = { 'shards.yaml': reshardShardsYaml(receiver.url, o.from, o.intervalS, o.replicas), 'teams/web/main.yaml': teamFile(targets, o.extraJobs) };
    const sha1 = repo.commit(before);
    const ctl = await launchController(repo, stateDir, port, { reshardPollMs: 300, reshardBoundMs: o.boundMs, openReadAccess: true });
    cleanups.push(() => ctl.close());
    // An unsplit shard is one unit named after the shard (its agent runs `--shard web` without a split).
    const unitsOf = (count: number) => (count <= 1 ? ['web'] : Array.from({ length: count }, (_, i) => `web.s${i}`));
    const units = [...new Set([...unitsOf(o.from), ...unitsOf(o.to)])];
    const replicas: Replica[] = [];
    const names = Array.from({ length: o.replicas ?? 1 }, (_, i) => String.fromCharCode(97 + i));
    const startUnit = async (unit: string) => {
      for (const name of names) {
        const r = await startReplica(unit, name, url, [], {}, { extraArgs: ['--enable-feature=expand-external-labels'], env: { PROMSHARD_REPLICA: name } });
        cleanups.push(() => stopReplica(r));
        replicas.push(r);
      }
    };
    const late = o.lateUnits ?? [];
    for (const unit of units) if (!late.includes(unit)) await startUnit(unit);
    let lateStarted = false;
    const startLate = async () => {
      if (lateStarted) return;
      lateStarted = true;
      for (const unit of late) await startUnit(unit);
    };
    if (await webhook(url) !== 202) throw new Error('webhook refused');
    await waitFor('the first layout applied', () => allOnRevision(replicas.filter((r) => unitsOf(o.from).includes(r.shard)), sha1), 60_000);
    await waitFor('every target at the receiver', async () => (await upSamples(receiver, 60)).size === targets.length, 60_000, 500);
    await new Promise((r) => setTimeout(r, 3000 * (o.intervalS ?? 1)));

    const job = compileFiles(before).model!.shards[0]!.jobs.find((j) => j.name === 'web-nodes')!;
    const unitUnder = (count: number) => new Map(job.targets.map((t) => [t.address, unitsOf(count)[splitOfTarget(job, t, '__address__', count)]!]));
    const oldUnit = unitUnder(o.from);
    const newUnit = unitUnder(o.to);
    const moved = targets.filter((t) => oldUnit.get(t) !== newUnit.get(t));

    for (const t of moved.slice(0, o.downMoved ?? 0)) await exporters.find((e) => e.target === t)!.close();
    const scrapesAt = () => new Map(exporters.map((e) => [e.target, e.scrapes]));
    const changedAt = Date.now() / 1000;
    const atChange = scrapesAt();
    const sha2 = repo.commit({ 'shards.yaml': reshardShardsYaml(receiver.url, o.to, o.intervalS, o.replicas) });
    if (await webhook(url) !== 202) throw new Error('webhook refused');
    let reshard: any = null;
    if (o.boundMs > 0) {
      const active = await waitFor('the reshard in progress', async () => {
        const { body } = await api(url, '/v1/reshards');
        return body.active.length === 1 ? body.active[0] : undefined;
      }, 30_000, 100);
      await o.duringOverlap?.(url, active, startLate);
      await startLate();
      reshard = await waitFor('the overlap over', async () => {
        const { body } = await api(url, '/v1/reshards');
        return body.active.length === 0 && body.recent[0]?.revision === sha2 ? body.recent[0] : undefined;
      }, o.boundMs + 120_000, 300);
    }
    for (const r of replicas) {
      const unit = r.shard;
      const share = targets.filter((t) => newUnit.get(t) === unit).sort();
      await waitFor(`${unit}/${r.replica} keeps only its new share`, async () => JSON.stringify(await activeAddresses(r.prometheus.url)) === JSON.stringify(share), 60_000, 250);
    }
    const endedAt = Date.now() / 1000;
    const atEnd = scrapesAt();
    // The same length of time after the end as a steady reference: every target scraped once, by one split.
    await new Promise((r) => setTimeout(r, Math.max(4000, (endedAt - changedAt) * 1000, 3000 * (o.intervalS ?? 1))));
    const afterEnd = scrapesAt();
    const steadySeconds = Date.now() / 1000 - endedAt;
    const samples = await upSamples(receiver, Math.ceil(Date.now() / 1000 - changedAt) + 10);
    await o.atEnd?.(url);
    return {
      targets,
      moved,
      oldUnit,
      newUnit,
      changedAt,
      endedAt,
      reshard,
      samples,
      scrapesDuring: new Map(targets.map((t) => [t, atEnd.get(t)! - atChange.get(t)!])),
      scrapesAfter: new Map(targets.map((t) => [t, afterEnd.get(t)! - atEnd.get(t)!])),
      steadySeconds,
    };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}
