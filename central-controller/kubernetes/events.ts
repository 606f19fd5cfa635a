// Kubernetes Events on each shard's workload (its StatefulSet), so `kubectl describe statefulset
// prometheus-<shard>` tells a rollout's story: finished, halted, or refused by Prometheus, with the
// revision, the replicas and the reason. Only the leader records them (the caller checks).
//
// Like client-go's recorder, repeats are aggregated and bursts limited: the same reason on the same
// object within `aggregateWindowMs` updates the existing Event (count, lastTimestamp, series) instead
// of creating another, and each object has a token bucket (burst, then one per refill period); what
// is over it is dropped and counted. Calls go out one at a time, each bounded by a timeout, and an API
// failure (RBAC 403 included) is logged once per kind and never reaches the rollout.
import type { Logger } from '../../core/log/logger.ts';
import { withCallTimeout } from './call-timeout.ts';
import { formatKubeTime, formatMicroTime } from './micro-time.ts';
import { apiError } from './leader-election.ts';

export type ShardEventReason = 'RolloutFinished' | 'RolloutHalted' | 'PrometheusRefused';

export interface ShardEvent {
  shard: string;
  reason: ShardEventReason;
  type: 'Normal' | 'Warning';
  message: string;
}

export interface KubeEventObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

/** The core/v1 Event as sent (times already formatted); `resourceVersion` and `name` come back from create. */
export interface KubeEventBody {
  metadata: { name?: string; generateName?: string; namespace: string; resourceVersion?: string };
  involvedObject: { apiVersion: string; kind: string; namespace: string; name: string };
  reason: string;
  message: string;
  type: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  eventTime: string;
  series?: { count: number; lastObservedTime: string };
  action: string;
  reportingComponent: string;
  reportingInstance: string;
  source: { component: string; host?: string };
}

export interface EventSink {
  create(namespace: string, body: KubeEventBody): Promise<{ name: string; resourceVersion?: string }>;
  replace(namespace: string, name: string, body: KubeEventBody): Promise<{ resourceVersion?: string }>;
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** Which object a shard's Events go on. */
  objectFor(shard: string): KubeEventObject;
  /** This controller's identity (reportingInstance). */
  instance: string;
  log: Logger;
  aggregateWindowMs?: number; // default 10 min
  burst?: number; // default 10 per object
  refillMs?: number; // default one token per 30 s
  callTimeoutMs?: number; // default 5 s
  onDropped?: () => void;
}

export const EVENT_COMPONENT = 'promshard-controller';
const MAX_MESSAGE = 1024; // the API refuses longer messages

interface Aggregate {
  name: string;
  body: KubeEventBody;
  lastAt: number;
}

export class KubeEventRecorder {
  private readonly aggregates = new Map<string, Aggregate>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private queue: Promise<void> = Promise.resolve();
  private loggedError: string | null = null;
  private closed = false;

  constructor(private readonly o: EventRecorderOptions) {}

  record(e: ShardEvent): void {
    if (this.closed) return;
    const obj = this.o.objectFor(e.shard);
    const objKey = `${obj.namespace}/${obj.kind}/${obj.name}`;
    if (!this.take(objKey)) {
      this.o.onDropped?.();
      this.o.log.debug('Kubernetes Event dropped by the rate limit', { object: objKey, reason: e.reason });
      return;
    }
    this.queue = this.queue.then(() => this.send(e, obj, `${objKey}/${e.reason}/${e.type}`)).catch(() => undefined);
  }

  /** Resolves when every queued Event has been sent (or failed). */
  idle(): Promise<void> {
    return this.queue;
  }

  close(): void {
    this.closed = true;
  }

  private take(key: string): boolean {
    const burst = this.o.burst ?? 10;
    const refill = this.o.refillMs ?? 30_000;
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.at) / refill);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private async send(e: ShardEvent, obj: KubeEventObject, key: string): Promise<void> {
    const now = Date.now();
    const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE - 1)}…` : e.message;
    const agg = this.aggregates.get(key);
    try {
      if (agg && now - agg.lastAt < (this.o.aggregateWindowMs ?? 600_000)) {
        const count = agg.body.count + 1;
        const body: KubeEventBody = { ...agg.body, message, count, lastTimestamp: formatKubeTime(now), series: { count, lastObservedTime: formatMicroTime(now) } };
        const r = await this.bounded(this.o.sink.replace(obj.namespace, agg.name, body));
        agg.body = { ...body, metadata: { ...body.metadata, resourceVersion: r.resourceVersion } };
        agg.lastAt = now;
      } else {
        const body: KubeEventBody = {
          metadata: { generateName: `${obj.name}.`, namespace: obj.namespace },
          involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.namespace, name: obj.name },
          reason: e.reason,
          message,
          type: e.type,
          count: 1,
          firstTimestamp: formatKubeTime(now),
          lastTimestamp: formatKubeTime(now),
          eventTime: formatMicroTime(now),
          action: e.reason === 'RolloutFinished' ? 'Rollout' : 'Halt',
          reportingComponent: EVENT_COMPONENT,
          reportingInstance: this.o.instance,
          source: { component: EVENT_COMPONENT },
        };
        const r = await this.bounded(this.o.sink.create(obj.namespace, body));
        this.aggregates.set(key, { name: r.name, body: { ...body, metadata: { name: r.name, namespace: obj.namespace, resourceVersion: r.resourceVersion } }, lastAt: now });
        this.prune(now);
      }
      this.loggedError = null;
    } catch (err) {
      const text = (err as Error).message;
      if (this.loggedError !== text) this.o.log.warn('recording a Kubernetes Event failed (the rollout is not affected)', { object: `${obj.namespace}/${obj.name}`, reason: e.reason, error: text });
      this.loggedError = text;
      // A failed update (the Event was deleted or expired by the API's TTL): the next one is created afresh.
      this.aggregates.delete(key);
    }
  }

  private prune(now: number): void {
    const window = this.o.aggregateWindowMs ?? 600_000;
    for (const [k, a] of this.aggregates) if (now - a.lastAt >= window) this.aggregates.delete(k);
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.o.callTimeoutMs ?? 5000;
    return withCallTimeout(p, ms, () => new Error(`Event call to the Kubernetes API timed out after ${ms} ms`));
  }
}

/** Events through client-node's CoreV1Api (imported lazily, like the rest of Kubernetes mode). */
export async function kubernetesEventSink(kubeConfig: import('@kubernetes/client-node').KubeConfig): Promise<EventSink> {
  const k8s = await import('@kubernetes/client-node');
  const api = kubeConfig.makeApiClient(k8s.CoreV1Api);
  // The times are strings on purpose: client-node passes them through, a Date would go out with three digits.
  const asEvent = (b: KubeEventBody) => b as unknown as import('@kubernetes/client-node').CoreV1Event;
  return {
    async create(namespace, body) {
      try {
        const r = await api.createNamespacedEvent({ namespace, body: asEvent(body) });
        return { name: r.metadata?.name ?? '', resourceVersion: r.metadata?.resourceVersion };
      } catch (err) {
        throw apiError(`create event in namespace ${namespace}`, err, k8s.ApiException);
      }
    },
    async replace(namespace, name, body) {
      try {
        const r = await api.replaceNamespacedEvent({ name, namespace, body: asEvent(body) });
        return { resourceVersion: r.metadata?.resourceVersion };
      } catch (err) {
        throw apiError(`update event ${namespace}/${name}`, err, k8s.ApiException);
      }
    },
  };
}

/**
 * Turns the controller's rollout timeline into Events on each shard's workload, while this controller
 * leads. Returns the function that stops listening.
 */
export function recordRolloutEvents(o: {
  state: import('../controller-state.ts').ControllerState;
  registry: import('../agent-registry.ts').AgentRegistry;
  leadership: import('./leadership.ts').Leadership;
  recorder: KubeEventRecorder;
}): () => void {
  const listener = (ev: import('../controller-state.ts').ControllerEvent) => {
    try {
      if (!ev.shard || !o.leadership.isLeader()) return;
      if (ev.type !== 'rollout-done' && ev.type !== 'rollout-failed') return;
      const rollout = o.state.shards.get(ev.shard)?.rollout;
      const replicas = o.registry.replicasOf(ev.shard);
      const running = rollout ? replicas.filter((r) => r.applied?.hash === rollout.hash).length : 0;
      const rev = (ev.revision ?? rollout?.revision ?? '').slice(0, 12);
      const gen = rollout ? ` (generation ${rollout.generation}${o.leadership.term() ? `, term ${o.leadership.term()}` : ''})` : '';
      if (ev.type === 'rollout-done') {
        o.recorder.record({ shard: ev.shard, reason: 'RolloutFinished', type: 'Normal', message: `revision ${rev}${gen} rolled out: ${running}/${replicas.length} replicas run it` });
        return;
      }
      const failed = ev.replica ? o.registry.get(ev.shard, ev.replica)?.failure : null;
      const refused = failed?.result === 'rolled-back';
      const why = rollout?.haltReason ?? 'the replica did not prove the document';
      o.recorder.record({
        shard: ev.shard,
        reason: refused ? 'PrometheusRefused' : 'RolloutHalted',
        type: 'Warning',
        message: `revision ${rev}${gen} halted at replica ${ev.replica ?? '?'}: ${why}${ev.error ? `: ${ev.error}` : ''}; ${running}/${replicas.length} replicas run it, the rest keep their configuration`,
      });
    } catch (err) {
      // A listener of the timeline must not throw into whoever recorded the event.
      void err;
    }
  };
  o.state.events.on('event', listener);
  return () => void o.state.events.off('event', listener);
}
