// The global view: a shard's remote_write section and the external labels that tell a global store
// (Thanos, Mimir, a Prometheus remote-write receiver) which shard, split and replica a sample came from.
//
// Both replicas of a pair get the same document (one hash, one rollout), yet their replica labels must
// differ or the store cannot deduplicate them. The rendered value is therefore the environment
// reference `${PROMSHARD_REPLICA}`, which Prometheus expands when started with
// `--enable-feature=expand-external-labels` and PROMSHARD_REPLICA set to the replica's name. The agent
// knows its replica and expands the same reference in what it expects Prometheus to load, so the reload
// proof stays exact: a Prometheus started without the feature or with another replica's name fails it.
import type { RemoteWrite } from '../../schemas/model.ts';
import { relabelEntries } from './relabel-entries.ts';

/** External label naming the shard (and the split's document, once splits exist). */
export const SHARD_LABEL = 'promshard_shard';
/** External label numbering the split inside a split shard (absent when the shard is not split). */
export const SPLIT_LABEL = 'promshard_split';
/** Thanos's default dedup label (`--query.replica-label=replica`); Mimir's HA tracker takes it as `ha_replica_label`. */
export const REPLICA_LABEL = 'replica';
export const REPLICA_ENV = 'PROMSHARD_REPLICA';
/** The Prometheus feature flag that expands `${VAR}` in external_labels (present in 2.42). */
export const REPLICA_FEATURE = 'expand-external-labels';
export const REPLICA_REFERENCE = '${' + REPLICA_ENV + '}';
export const IDENTITY_LABELS: readonly string[] = [SHARD_LABEL, SPLIT_LABEL, REPLICA_LABEL];

/** The identity labels a remote-writing shard carries; `split` only when the shard is split. */
export function identityExternalLabels(shard: string, split?: { index: number; count: number }): Record<string, string> {
  return {
    [SHARD_LABEL]: shard,
    ...(split && split.count > 1 ? { [SPLIT_LABEL]: String(split.index) } : {}),
    [REPLICA_LABEL]: REPLICA_REFERENCE,
  };
}

/**
 * Expands the replica reference as Prometheus will (expand-external-labels replaces `${VAR}` with the
 * variable's value), for the agent's reload proof. Only this one reference: any other `$` in a label
 * value is the repository's business and must reach Prometheus, and the proof, unchanged.
 */
export function expandReplicaReference(value: string, replica: string): string {
  return value.split(REPLICA_REFERENCE).join(replica);
}

const QUEUE_KEYS = ['capacity', 'max_shards', 'min_shards', 'max_samples_per_send', 'batch_send_deadline', 'min_backoff', 'max_backoff', 'retry_on_http_429'] as const;

/** Prometheus's remote_write entries, keys in a fixed order so the same model renders the same bytes. */
export function renderRemoteWrite(list: readonly RemoteWrite[]): Record<string, unknown>[] {
  return list.map((rw) => {
    const out: Record<string, unknown> = { url: rw.url };
    if (rw.name !== undefined) out.name = rw.name;
    if (rw.remote_timeout !== undefined) out.remote_timeout = rw.remote_timeout;
    if (rw.headers && Object.keys(rw.headers).length) out.headers = Object.fromEntries(Object.entries(rw.headers).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (rw.write_relabel_configs?.length) out.write_relabel_configs = relabelEntries(rw.write_relabel_configs);
    if (rw.queue_config) {
      const q: Record<string, unknown> = {};
      for (const k of QUEUE_KEYS) if (rw.queue_config[k] !== undefined) q[k] = rw.queue_config[k];
      if (Object.keys(q).length) out.queue_config = q;
    }
    if (rw.basic_auth) out.basic_auth = { username: rw.basic_auth.username, password_file: rw.basic_auth.password_file };
    if (rw.authorization) out.authorization = { type: rw.authorization.type ?? 'Bearer', credentials_file: rw.authorization.credentials_file };
    if (rw.tls_config) out.tls_config = { ...rw.tls_config };
    return out;
  });
}
