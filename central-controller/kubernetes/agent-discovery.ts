// Agents found through the Kubernetes API: the third source of agents beside self-registration and
// --agents-file. Pods carrying `promshard.io/shard` (and the operator's --agent-selector) are watched
// in each namespace (pod-watch.ts); each one's agent (pod-agent.ts) is put in the registry:
//   - a Ready pod with an IP is an agent; a new one, one at a new address, or a new pod for a known
//     replica is asked what it runs and its shard kicked, so it gets the desired document at once;
//   - a pod that stops being Ready stays known but unreachable ("Kubernetes: pod is not Ready"), so
//     the shard shows a replica down rather than silently shrinking; nothing is pushed to it;
//   - a deleted pod is dropped from the registry.
// The API server is trusted for addresses (it is the cluster's record); each agent still gets its own
// credential derived from --agent-secret-file, exactly as outside Kubernetes.
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../core/log/logger.ts';
import { agentKey, type AgentRecord, type AgentRegistry } from '../agent-registry.ts';
import type { ControllerMetrics } from '../controller-metrics.ts';
import type { ControllerState } from '../controller-state.ts';
import { loadKubeConfig } from './kube-config.ts';
import { podAgent, SHARD_LABEL, type PodAgent } from './pod-agent.ts';
import { PodWatch, type PodWatchStatus } from './pod-watch.ts';

export interface KubernetesDiscoveryOptions {
  /** --kubeconfig; otherwise KUBECONFIG, the in-cluster service account, ~/.kube/config. */
  kubeconfig?: string;
  /** Namespaces to watch (default: the current context's, in-cluster the controller's own). */
  namespaces?: string[];
  /** Extra label selector, ANDed with `promshard.io/shard` (e.g. `app=prometheus`). */
  agentSelector?: string;
  watchTimeoutSeconds?: number;
  /** Watchdog bound (default watch timeout + 30 s). */
  silenceMs?: number;
  listTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface KubernetesDiscoveryStatus {
  enabled: true;
  kubeconfig: string;
  selector: string;
  watchTimeoutSeconds: number;
  silenceMs: number;
  /** False while any namespace's list/watch fails; `error` then says why (e.g. RBAC 403). */
  ok: boolean;
  error: string | null;
  namespaces: (Omit<PodWatchStatus, 'lastEventAt'> & { lastEventAt: string | null; lastEventAgeSeconds: number | null })[];
  agents: { shard: string; replica: string; pod: string; url: string; ready: boolean; notReady: string | null }[];
  /** Pods that carry the shard label but no usable agent, with why. */
  ignored: { pod: string; error: string }[];
}

export interface DiscoveryDeps {
  registry: AgentRegistry;
  state: ControllerState;
  metrics: ControllerMetrics;
  log: Logger;
  pollStatus(a: AgentRecord): Promise<void>;
  kickShard(shard: string): void;
}

export class AgentDiscovery {
  private readonly watches: PodWatch[] = [];
  /** Every watched pod's agent, by pod key. */
  private readonly pods = new Map<string, PodAgent>();
  /** Which pod stands for each replica now (two pods may claim one replica while one replaces another). */
  private readonly owners = new Map<string, string>();
  private readonly ignored = new Map<string, string>();
  private readonly o: Required<Pick<KubernetesDiscoveryOptions, 'watchTimeoutSeconds' | 'silenceMs'>> & KubernetesDiscoveryOptions;
  private kubeconfigSource = '';
  readonly selector: string;

  constructor(private readonly d: DiscoveryDeps, opts: KubernetesDiscoveryOptions) {
    const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 60;
    this.o = { ...opts, watchTimeoutSeconds, silenceMs: opts.silenceMs ?? watchTimeoutSeconds * 1000 + 30_000 };
    this.selector = [SHARD_LABEL, opts.agentSelector].filter(Boolean).join(',');
  }

  /** Loads the kubeconfig and starts the watches; does not wait for the first list (a 403 must not stop the controller). */
  async start(): Promise<void> {
    const { k8s, kc, source, namespace } = await loadKubeConfig({ kubeconfig: this.o.kubeconfig });
    this.kubeconfigSource = source;
    const namespaces = this.o.namespaces?.length ? [...new Set(this.o.namespaces)] : [namespace];
    for (const ns of namespaces) {
      const w = new PodWatch({
        k8s,
        kc,
        namespace: ns,
        labelSelector: this.selector,
        watchTimeoutSeconds: this.o.watchTimeoutSeconds,
        silenceMs: this.o.silenceMs,
        listTimeoutMs: this.o.listTimeoutMs,
        backoffBaseMs: this.o.backoffBaseMs,
        backoffMaxMs: this.o.backoffMaxMs,
        onUpsert: (pod) => this.guard('pod update', () => this.upsert(pod)),
        onDelete: (pod) => this.guard('pod deletion', () => this.remove(pod)),
        onRestart: (reason, error) => {
          this.d.metrics.kubernetesWatchRestarts.inc({ reason });
          if (error) this.d.log.error('Kubernetes pod watch failed; retrying with backoff', { namespace: ns, reason, error });
          else this.d.log.info('Kubernetes pod watch relisting', { namespace: ns, reason });
        },
      });
      this.watches.push(w);
      w.start();
    }
    this.d.metrics.onKubernetesCollect(() => this.refreshGauges());
    this.d.log.info('Kubernetes agent discovery started', { kubeconfig: source, namespaces, selector: this.selector, watchTimeoutSeconds: this.o.watchTimeoutSeconds, silenceMs: this.o.silenceMs });
  }

  /** Resolves once every namespace has been listed once (tests and the bench). */
  async synced(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.firstList));
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  status(): KubernetesDiscoveryStatus {
    const now = Date.now();
    const namespaces = this.watches.map((w) => {
      const s = w.status();
      return { ...s, lastEventAt: s.lastEventAt ? new Date(s.lastEventAt).toISOString() : null, lastEventAgeSeconds: s.lastEventAt ? (now - s.lastEventAt) / 1000 : null };
    });
    const failing = namespaces.filter((n) => !n.ok && n.lastError);
    return {
      enabled: true,
      kubeconfig: this.kubeconfigSource,
      selector: this.selector,
      watchTimeoutSeconds: this.o.watchTimeoutSeconds,
      silenceMs: this.o.silenceMs,
      ok: namespaces.every((n) => n.ok),
      error: failing.map((n) => n.lastError).join('; ') || null,
      namespaces,
      agents: this.d.registry
        .all()
        .filter((a) => a.kubernetes)
        .map((a) => ({ shard: a.shard, replica: a.replica, pod: a.kubernetes!.pod, url: a.url, ready: a.kubernetes!.ready, notReady: a.kubernetes!.notReady })),
      ignored: [...this.ignored].map(([pod, error]) => ({ pod, error })),
    };
  }

  private refreshGauges(): void {
    const now = Date.now();
    for (const w of this.watches) {
      const s = w.status();
      if (s.lastEventAt) this.d.metrics.kubernetesWatchLastEventAge.set({ namespace: s.namespace }, (now - s.lastEventAt) / 1000);
      this.d.metrics.kubernetesDiscoveryUp.set({ namespace: s.namespace }, s.ok ? 1 : 0);
    }
    const found = this.d.registry.all().filter((a) => a.kubernetes);
    this.d.metrics.kubernetesPodsDiscovered.set({ ready: 'true' }, found.filter((a) => a.kubernetes!.ready).length);
    this.d.metrics.kubernetesPodsDiscovered.set({ ready: 'false' }, found.filter((a) => !a.kubernetes!.ready).length);
  }

  /** A watch callback must never throw into client-node's stream handling. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.d.log.error(`Kubernetes ${what} could not be applied`, { error: err });
    }
  }

  private upsert(pod: V1Pod): void {
    const a = podAgent(pod);
    const podKey = a.pod;
    const previous = this.pods.get(podKey);
    if ('error' in a) {
      if (this.ignored.get(podKey) !== a.error) this.d.log.warn('pod ignored by agent discovery', { pod: podKey, reason: a.error });
      this.ignored.set(podKey, a.error);
      if (previous) this.release(previous);
      return;
    }
    this.ignored.delete(podKey);
    // Its labels moved it to another replica: the old one loses this pod.
    if (previous && agentKey(previous.shard, previous.replica) !== agentKey(a.shard, a.replica)) this.release(previous);
    this.pods.set(podKey, a);
    this.apply(a);
  }

  private remove(pod: V1Pod): void {
    const podKey = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    this.ignored.delete(podKey);
    const previous = this.pods.get(podKey);
    if (!previous) return;
    this.pods.delete(podKey);
    this.release(previous);
  }

  /** `a`'s pod no longer stands for its replica: drop the agent, or hand the replica to another pod that claims it. */
  private release(a: PodAgent): void {
    const key = agentKey(a.shard, a.replica);
    if (this.owners.get(key) !== a.pod) return;
    this.owners.delete(key);
    const rec = this.d.registry.get(a.shard, a.replica);
    const successor = [...this.pods.values()].find((p) => p.pod !== a.pod && agentKey(p.shard, p.replica) === key);
    if (successor) return this.apply(successor);
    if (rec?.kubernetes) {
      this.d.registry.remove(a.shard, a.replica);
      this.d.state.record({ type: 'agent-unreachable', shard: a.shard, replica: a.replica, message: `agent ${key} dropped: pod ${a.pod} was deleted` });
      this.d.state.shardChanged(a.shard);
      this.d.log.info('agent dropped: its pod is gone', { shard: a.shard, replica: a.replica, pod: a.pod });
    }
  }

  private apply(a: PodAgent): void {
    const key = agentKey(a.shard, a.replica);
    const owner = this.owners.get(key);
    if (owner && owner !== a.pod) {
      // Two pods claim one replica (a replacement overlapping its predecessor): a Ready one beats one
      // that is not; otherwise the current owner keeps it.
      const current = this.pods.get(owner);
      if (current?.ready || !a.ready) return;
    }
    const rec = this.d.registry.get(a.shard, a.replica);
    if (!a.ready && !rec?.kubernetes) return; // an agent is a Ready pod with an IP; until then nothing to show
    if (rec?.static) {
      this.d.log.warn('a pod claims a replica listed in --agents-file; keeping the configured address', { shard: a.shard, replica: a.replica, pod: a.pod });
      return;
    }
    const wasReady = rec?.kubernetes?.ready ?? false;
    const { record, renewed } = this.d.registry.setDiscovered(a.shard, a.replica, a.url ?? rec!.url, { pod: a.pod, uid: a.uid, ready: a.ready, notReady: a.notReady });
    this.owners.set(key, a.pod);
    if (!a.ready) {
      if (record.reachable !== false) {
        record.reachable = false;
        record.lastError = `Kubernetes: ${a.notReady}`;
        this.d.state.record({ type: 'agent-unreachable', shard: a.shard, replica: a.replica, message: `agent ${key} unreachable: pod ${a.pod}: ${a.notReady}`, error: a.notReady ?? undefined });
        this.d.state.shardChanged(a.shard);
      }
      return;
    }
    if (!renewed && wasReady) return; // nothing that matters to the fleet changed (labels, annotations, status details)
    if (renewed) this.d.state.record({ type: 'agent-registered', shard: a.shard, replica: a.replica, message: `agent ${key} discovered: pod ${a.pod} at ${record.url}` });
    else {
      // Ready again: forget the not-Ready mark and let its answer decide.
      record.reachable = null;
      record.lastError = null;
    }
    this.d.log.info(renewed ? 'agent discovered' : 'agent pod Ready again', { shard: a.shard, replica: a.replica, pod: a.pod, url: record.url });
    // Learn what it runs, then let its shard's worker push it the desired document.
    void this.d
      .pollStatus(record)
      .then(() => this.d.kickShard(a.shard))
      .catch((err) => this.d.log.error('first status poll of a discovered agent failed', { shard: a.shard, replica: a.replica, error: err }));
    this.d.state.shardChanged(a.shard);
  }
}
