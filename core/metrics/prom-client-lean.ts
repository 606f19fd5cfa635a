// prom-client's Registry, Counter, Gauge and Histogram, and its default metrics, loaded from their own
// files rather than from the package's index. The index also loads the Pushgateway (https, TLS, zlib),
// the cluster aggregator (cluster, dgram, dns), Summary (tdigest) and, for exemplars on the CPU default
// metric, @opentelemetry/api: about 8 MB of RSS in an empty Node 20, for the life of a long-running
// agent that uses none of them (docs/agent.md, Memory). The classes are the very modules the index
// exports (one require cache), so metrics made here and there mix freely. prom-client is pinned
// (package.json), and test/agent/metrics-lean.test.ts checks that the exposition is the index's.
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';

const load = createRequire(import.meta.url);
const lib = (name: string): unknown => load(`prom-client/lib/${name}`);

export const Registry = lib('registry') as typeof PromClient.Registry;
export const Counter = lib('counter') as typeof PromClient.Counter;
export const Gauge = lib('gauge') as typeof PromClient.Gauge;
export const Histogram = lib('histogram') as typeof PromClient.Histogram;
export type Registry = PromClient.Registry;
export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type Metric = PromClient.Metric;

type DefaultMetric = (registry: PromClient.Registry, config: { eventLoopMonitoringPrecision: number; register: PromClient.Registry }) => void;

// collectDefaultMetrics's list, in its order, with the CPU counters (processCpuTotal, the one that
// loads @opentelemetry/api) made by cpuCounters below instead.
const DEFAULT_METRICS = ['processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors', 'eventLoopLag', 'processResources', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version', 'gc'];

/** prom-client's collectDefaultMetrics({ register: registry }): the same metrics, names and help. */
export function collectDefaultMetrics(registry: PromClient.Registry): void {
  const config = { eventLoopMonitoringPrecision: 10, register: registry };
  cpuCounters(registry);
  for (const name of DEFAULT_METRICS) {
    // The index registers processResources only where Node has process.getActiveResourcesInfo.
    if (name === 'processResources' && typeof process.getActiveResourcesInfo !== 'function') continue;
    (lib(`metrics/${name}`) as DefaultMetric)(registry, config);
  }
}

/** process_cpu_{user,system,}_seconds_total, as prom-client's processCpuTotal without exemplars. */
function cpuCounters(registry: PromClient.Registry): void {
  const registers = [registry];
  let last = process.cpuUsage();
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // One collect sets all three, as prom-client does.
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
}
