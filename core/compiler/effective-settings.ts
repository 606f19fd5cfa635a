// Defaults that apply when neither the job, its shard nor shards.yaml's `defaults:` set a value.
import type { CardinalityThresholds, Limits } from '../../schemas/model.ts';

export const BUILTIN_DEFAULTS = {
  interval: '1m',
  timeout: '10s',
  evaluation_interval: '1m',
  replicas: 2,
};

/** Cardinality thresholds when shards.yaml sets none; see docs/cardinality.md for their reasoning. */
export const BUILTIN_CARDINALITY: Required<CardinalityThresholds> = {
  max_label_values: 1000,
  max_value_ratio: 0.5,
  max_series_per_job: 2000,
  max_churn_ratio: 0.2,
  growth_cycles: 3,
  enabled: true,
};

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
