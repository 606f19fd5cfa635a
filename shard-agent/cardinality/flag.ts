// The cardinality flag (wire type in core/protocol/cardinality-flag.ts) and its attribution to the
// owning team and file.
import type { JobOwner } from '../../core/document/desired-document.ts';
export type {
  CardinalityFlag,
  CardinalityFix,
  CardinalityReason,
  CardinalitySeverity,
  ValuePattern,
} from '../../core/protocol/cardinality-flag.ts';
export { DEFAULT_CARDINALITY_THRESHOLDS } from '../../core/protocol/cardinality-flag.ts';

export const UNKNOWN_TEAM = 'unknown';

export function flagId(shard: string, job: string, metric: string, label: string): string {
  return `${shard}/${job}/${metric}/${label}`;
}

export function ownerOf(owners: Record<string, JobOwner>, job: string): { team: string; file: string; line: number; owner?: JobOwner } {
  const owner = Object.prototype.hasOwnProperty.call(owners, job) ? owners[job] : undefined;
  if (!owner) return { team: UNKNOWN_TEAM, file: '', line: 0 };
  return { team: owner.team || UNKNOWN_TEAM, file: owner.file ?? '', line: owner.line ?? 0, owner };
}
