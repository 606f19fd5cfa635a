// Public surface of the cardinality analyzer (see docs/cardinality.md).
export { createCardinalityAnalyzer, asFlagSource, DEFAULT_INTERVAL_MS, DEFAULT_BUDGET_MS, DEFAULT_CONCURRENCY } from './analyzer.ts';
export type { CardinalityAnalyzer, CardinalityAnalyzerOptions, CycleReport, CycleResult } from './analyzer.ts';
export type { CardinalityFlag, CardinalityFix, CardinalityReason, CardinalitySeverity, ValuePattern } from './flag.ts';
export { DEFAULT_CARDINALITY_THRESHOLDS, UNKNOWN_TEAM } from './flag.ts';
export { classifyValue, classifySample } from './value-classifier.ts';
export { labelPrior } from './label-priors.ts';
export { resolveThresholds, barsFor } from './thresholds.ts';
