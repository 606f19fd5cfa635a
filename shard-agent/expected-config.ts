// What the reload proof expects Prometheus to have loaded from a written file. The file is the
// controller's document byte for byte (its hash verified); only the replica reference that a
// remote-writing shard carries in external_labels (core/render/remote-write.ts) is expanded, to this
// agent's replica name, exactly as Prometheus's expand-external-labels feature expands
// PROMSHARD_REPLICA. A Prometheus started without the feature, without the variable, or with another
// replica's name therefore fails the proof instead of sending samples a global store cannot dedup.
import { expandReplicaReference } from '../core/render/remote-write.ts';
import { fingerprintConfig, type ConfigFingerprint } from './config-fingerprint.ts';

export function expectedFingerprint(writtenMainConfig: string, replica: string | undefined): ConfigFingerprint {
  const written = fingerprintConfig(writtenMainConfig);
  if (replica === undefined) return written;
  return { ...written, externalLabels: written.externalLabels.map(([k, v]) => [k, expandReplicaReference(v, replica)] as [string, string]) };
}
