// Predicts which split keeps a target, exactly as Prometheus's `hashmod` relabel action decides it
// (model/relabel/relabel.go): MD5 of the source label values joined by the separator (";"), the
// last 8 bytes of the digest read as a big-endian uint64, modulo the modulus. Checked against a real
// Prometheus in test/placement/split-scrape.test.ts.
import { createHash } from 'node:crypto';
import type { CompiledJob, CompiledTarget } from '../../schemas/model.ts';

export function hashmod(value: string, modulus: number): number {
  const digest = createHash('md5').update(value, 'utf8').digest();
  return Number(digest.readBigUInt64BE(8) % BigInt(modulus));
}

/**
 * The value of `label` on a static target at relabel time, before any relabel rule: the labels
 * Prometheus gives every target (`__address__`, `job`, `__scheme__`, `__metrics_path__`) and the
 * target group's own (with `team`, which the renderer adds to each group). A label that is not set
 * hashes as the empty string, as in Prometheus.
 */
export function labelAtRelabel(job: CompiledJob, target: CompiledTarget, label: string): string {
  switch (label) {
    case '__address__':
      return target.address;
    case 'job':
      return job.name;
    case '__scheme__':
      return job.spec.scheme ?? 'http';
    case '__metrics_path__':
      return job.spec.metrics_path ?? '/metrics';
    case 'team':
      return job.team;
    default:
      return target.labels[label] ?? '';
  }
}

export function splitOfTarget(job: CompiledJob, target: CompiledTarget, by: string, count: number): number {
  return count <= 1 ? 0 : hashmod(labelAtRelabel(job, target, by), count);
}
