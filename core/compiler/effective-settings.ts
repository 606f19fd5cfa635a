// Defaults that apply when neither the job, its shard nor shards.yaml's `defaults:` set a value.
import type { CardinalityThresholds, Limits } from '../../schemas/model.ts';
import { DEFAULT_CARDINALITY_THRESHOLDS } from '../protocol/cardinality-flag.ts';

export const BUILTIN_DEFAULTS = {
  interval: '1m',
  timeout: '10s',
  evaluation_interval: '1m',
  replicas: 2,
  /** Team credential files live under `<secrets_root>/<team>/` (shards.yaml `secrets_root`). */
  secrets_root: '/etc/prometheus/secrets',
  /** Fleet-level credential files (remote_write) live under `<secrets_root>/<observability_team>/`. */
  observability_team: 'observability',
};

/** Cardinality thresholds when shards.yaml sets none: the analyzer's own defaults, one source of truth. */
export const BUILTIN_CARDINALITY: Required<CardinalityThresholds> = { ...DEFAULT_CARDINALITY_THRESHOLDS };

/** Later layers win, key by key; undefined never overrides. */
export function mergeLayers<T extends object>(...layers: (T | undefined)[]): T {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) out[k] = v;
  }
  return out as T;
}

export function mergeLimits(...layers: (Limits | undefined)[]): Limits {
  return mergeLayers<Limits>(...layers);
}
