// What one Pod says about one agent: its shard and replica (labels, or the StatefulSet ordinal), its URL
// (pod IP + the container port named `promshard-agent`) and whether Kubernetes counts it Ready.
// Pure: the discovery loop and its tests share it.
import type { V1Pod } from '@kubernetes/client-node';
import { AGENT_NAME } from '../../core/http/agent-credential.ts';
import { parseSplitIndex, unitName } from '../../core/document/split-name.ts';

export const SHARD_LABEL = 'promshard.io/shard';
export const REPLICA_LABEL = 'promshard.io/replica';
export const SPLIT_LABEL = 'promshard.io/split';
/** Set by the StatefulSet controller since Kubernetes 1.28; the pod name's `-N` suffix before that. */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const AGENT_PORT_NAME = 'promshard-agent';

export interface PodAgent {
  /** `namespace/name`: the pod's identity in the watch. */
  pod: string;
  uid: string;
  shard: string;
  replica: string;
  /** null while the pod has no IP yet. */
  url: string | null;
  /** Ready condition True, an IP, and not being deleted. */
  ready: boolean;
  /** Why it is not ready (for the replica's state); null when ready. */
  notReady: string | null;
}

/** The agent a pod carries, or why it carries none usable (a reason naming the pod). */
export function podAgent(pod: V1Pod): PodAgent | { pod: string; error: string } {
  const ns = pod.metadata?.namespace ?? '';
  const name = pod.metadata?.name ?? '';
  const key = `${ns}/${name}`;
  const labels = pod.metadata?.labels ?? {};
  const shard = labels[SHARD_LABEL];
  if (!shard) return { pod: key, error: `pod ${key} has no ${SHARD_LABEL} label` };
  let replica = labels[REPLICA_LABEL] ?? labels[POD_INDEX_LABEL];
  if (!replica) {
    const ordinal = /-(\d+)$/.exec(name);
    if (!ordinal) return { pod: key, error: `pod ${key}: no ${REPLICA_LABEL} label and its name has no StatefulSet ordinal (-N)` };
    replica = ordinal[1]!;
  }
  if (!AGENT_NAME.test(shard)) return { pod: key, error: `pod ${key}: ${SHARD_LABEL}=${JSON.stringify(shard)} is not a valid shard name` };
  const splitText = labels[SPLIT_LABEL];
  const split = splitText === undefined ? undefined : parseSplitIndex(splitText);
  if (split === null) return { pod: key, error: `pod ${key}: ${SPLIT_LABEL}=${JSON.stringify(splitText)} is not a split number (0, 1, 2, ...)` };
  if (!AGENT_NAME.test(replica)) return { pod: key, error: `pod ${key}: replica ${JSON.stringify(replica)} is not a valid replica name` };
  let port: number | undefined;
  for (const c of pod.spec?.containers ?? []) {
    const p = c.ports?.find((x) => x.name === AGENT_PORT_NAME);
    if (p) port = p.containerPort;
  }
  if (!port) return { pod: key, error: `pod ${key} has no container port named ${AGENT_PORT_NAME}` };
  const ip = pod.status?.podIP ?? null;
  const url = ip ? `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}` : null;
  const readyCond = pod.status?.conditions?.find((c) => c.type === 'Ready');
  let notReady: string | null = null;
  if (pod.metadata?.deletionTimestamp) notReady = 'pod is terminating';
  else if (!ip) notReady = 'pod has no IP yet';
  else if (readyCond?.status !== 'True') notReady = `pod is not Ready${readyCond?.reason ? ` (${readyCond.reason})` : ''}`;
  // A split pod serves its split's document: the agent is known by the split's name (`<shard>.s<i>`).
  return { pod: key, uid: pod.metadata?.uid ?? '', shard: unitName(shard, split), replica, url, ready: notReady === null, notReady };
}
