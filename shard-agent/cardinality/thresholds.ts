// Turns a job's thresholds and a label's name into concrete bars, and judges one measured label.
// All defaults live in DEFAULT_CARDINALITY_THRESHOLDS (core/protocol/cardinality-flag.ts) and the
// constants below; docs/cardinality.md explains each one with the cases it was tuned on.
import type { CardinalityThresholds } from '../../schemas/model.ts';
import {
  DEFAULT_CARDINALITY_THRESHOLDS,
  type CardinalityReason,
  type CardinalitySeverity,
} from '../../core/protocol/cardinality-flag.ts';
import { labelPrior, priorFactor, type LabelPrior } from './label-priors.ts';
import type { SampleClassification } from './value-classifier.ts';

/** Labels with at most this many distinct values are never considered (server-side `> floor`). */
export const MIN_DISTINCT_VALUES = 20;
/** The id-pattern bar is this share of max_label_values (1000 → 100 values for a neutral name). */
export const ID_PATTERN_BAR_SHARE = 0.1;
/** The unique-per-series bar is this share of max_label_values (1000 → 500 for a neutral name). */
export const UNIQUE_BAR_SHARE = 0.5;
/** Share of sampled values that must look like identifiers for `id-pattern`. */
export const MIN_ID_SHARE = 0.8;
/** Share of identifier-looking values that lets a growing label of a neutral or bounded name be flagged early. */
export const GROWTH_ID_SHARE = 0.5;
/** A critical flag: this many times its bar, or over max_label_values (id patterns). */
export const CRITICAL_MULTIPLIER = 10;

export function resolveThresholds(t?: Partial<CardinalityThresholds> | null): Required<CardinalityThresholds> {
  const out = { ...DEFAULT_CARDINALITY_THRESHOLDS };
  for (const [k, v] of Object.entries(t ?? {})) if (v !== undefined && v !== null) (out as Record<string, unknown>)[k] = v;
  return out;
}

export interface Bars {
  prior: LabelPrior;
  factor: number;
  idBar: number;
  uniqueBar: number;
  highBar: number;
}

export function barsFor(label: string, t: Required<CardinalityThresholds>): Bars {
  const prior = labelPrior(label);
  const factor = priorFactor(prior);
  return {
    prior,
    factor,
    idBar: Math.max(MIN_DISTINCT_VALUES, Math.round(t.max_label_values * ID_PATTERN_BAR_SHARE * factor)),
    uniqueBar: Math.max(MIN_DISTINCT_VALUES, Math.round(t.max_label_values * UNIQUE_BAR_SHARE * factor)),
    highBar: Math.max(MIN_DISTINCT_VALUES, Math.round(t.max_label_values * factor)),
  };
}

/** Whether a measured label deserves a sample of its values (the cheapest bar it could cross). */
export function isCandidate(distinct: number, rising: number, bars: Bars, t: Required<CardinalityThresholds>): boolean {
  return distinct > bars.idBar || rising >= t.growth_cycles;
}

export interface Judgement {
  reasons: CardinalityReason[];
  severity: CardinalitySeverity;
}

export function judge(input: {
  distinct: number;
  metricSeries: number;
  seriesAffected: number;
  rising: number;
  sample: SampleClassification;
  bars: Bars;
  thresholds: Required<CardinalityThresholds>;
}): Judgement | null {
  const { distinct, bars, thresholds: t, sample } = input;
  const reasons: CardinalityReason[] = [];
  const ratio = input.metricSeries > 0 ? distinct / input.metricSeries : 0;
  if (sample.idShare >= MIN_ID_SHARE && distinct > bars.idBar) reasons.push('id-pattern');
  if (ratio >= t.max_value_ratio && distinct > bars.uniqueBar) reasons.push('unique-per-series');
  if (distinct > bars.highBar) reasons.push('high-count');
  if (input.rising >= t.growth_cycles && distinct > MIN_DISTINCT_VALUES) {
    const looksLikeIds = sample.idShare >= GROWTH_ID_SHARE;
    const allowed =
      bars.prior === 'bounded'
        ? looksLikeIds
        : bars.prior === 'id-like' || looksLikeIds || input.rising >= 2 * t.growth_cycles;
    if (allowed) reasons.push('growth');
  }
  if (!reasons.length) return null;
  const critical =
    distinct > bars.highBar * CRITICAL_MULTIPLIER ||
    (reasons.includes('id-pattern') && distinct > Math.min(bars.idBar * CRITICAL_MULTIPLIER, t.max_label_values)) ||
    input.seriesAffected > t.max_series_per_job;
  return { reasons, severity: critical ? 'critical' : 'warning' };
}

/**
 * The lowest bar a label's values would be judged against: the id-pattern bar when they look like
 * identifiers, the unique-per-series bar when nearly every series has its own value, the high-count
 * bar otherwise. Used to say what a partial fix leaves above.
 */
export function lowestApplicableBar(input: { distinct: number; metricSeries: number; sample: SampleClassification; bars: Bars; thresholds: Required<CardinalityThresholds> }): number {
  const { bars } = input;
  if (input.sample.idShare >= MIN_ID_SHARE) return bars.idBar;
  const ratio = input.metricSeries > 0 ? input.distinct / input.metricSeries : 0;
  return ratio >= input.thresholds.max_value_ratio ? bars.uniqueBar : bars.highBar;
}
