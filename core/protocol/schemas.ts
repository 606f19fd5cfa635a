// JSON Schemas (draft 2020-12) of everything an agent sends the controller: the answers to
// POST /v1/apply, GET /v1/status, GET /v1/flags (and POST /v1/cardinality/analyze), GET /v1/usage,
// and the bodies of POST /v1/agents/register and /v1/agents/report. They describe the same types as
// agent-api.ts and cardinality-flag.ts (test/schemas/protocol-schemas.test.ts ties the keys of each
// object to its TypeScript type), and they bound every string and array: an agent is a peer, not a
// trusted part, and what it says ends up in views, pages and metrics.
//
// Every object lists its keys with `additionalProperties: false`; the validator (protocol-validator.ts)
// drops unknown keys rather than refusing them, so a newer agent's additions do not make it faulty
// and nothing unknown is ever kept.
import { AGENT_NAME } from '../http/agent-credential.ts';

// Bounds: far above what a real agent sends, far below what would hurt the controller.
const NAME = { type: 'string', pattern: AGENT_NAME.source, maxLength: 128 } as const;
const URL = { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 512 } as const;
/** Revisions and hashes: the agent echoes what it was sent, including a refused document's ('' when absent). */
const REF = { type: 'string', maxLength: 1024 } as const;
const TIME = { type: 'string', maxLength: 64, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$' } as const;
/** Prometheus's and promtool's error texts. */
const ERROR = { type: 'string', maxLength: 65536 } as const;
const COUNT = { type: 'integer', minimum: 0, maximum: 1e15 } as const;
const MS = { type: 'number', minimum: 0, maximum: 1e12 } as const;
const RATIO = { type: 'number', minimum: 0, maximum: 1e9 } as const;
/** Metric, label and job names as Prometheus reports them (it has no length limit of its own). */
const IDENT = { type: 'string', maxLength: 1024 } as const;
const TEXT = { type: 'string', maxLength: 65536 } as const;
/** A leader's fencing term (Kubernetes mode). */
const TERM = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

const object = (properties: Record<string, unknown>, optional: readonly string[] = []) => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  additionalProperties: false,
});
const nullable = (schema: object) => ({ anyOf: [{ type: 'null' }, schema] });

export const APPLY_RESULTS = ['applied', 'unchanged', 'written-unverified', 'rolled-back', 'rejected', 'superseded'] as const;

export const applyResponseSchema = object(
  {
    result: { enum: APPLY_RESULTS },
    shard: { type: 'string', maxLength: 128 },
    revision: REF,
    hash: REF,
    error: ERROR,
    reloadMs: MS,
    applyMs: MS,
    prometheusDown: object({ since: TIME, cause: { enum: ['before-document', 'with-document'] }, reason: ERROR }),
    term: TERM,
  },
  ['error', 'reloadMs', 'applyMs', 'prometheusDown', 'term'],
);

export const applyRecordSchema = object(
  {
    revision: REF,
    generation: { type: 'integer', minimum: -1, maximum: Number.MAX_SAFE_INTEGER },
    hash: REF,
    result: { enum: APPLY_RESULTS },
    error: ERROR,
    startedAt: TIME,
    finishedAt: TIME,
    applyMs: MS,
    reloadMs: MS,
  },
  ['error', 'reloadMs'],
);

export const appliedSchema = object({
  revision: REF,
  generation: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  hash: REF,
  appliedAt: TIME,
  verified: { type: 'boolean' },
});

export const agentStatusSchema = object({
  shard: NAME,
  replica: NAME,
  url: URL,
  applied: nullable(appliedSchema),
  lastResult: nullable(applyRecordSchema),
  prometheusReachable: { type: 'boolean' },
  prometheusDownSince: nullable(TIME),
  applying: { type: 'boolean' },
  recent: { type: 'array', maxItems: 200, items: applyRecordSchema },
  flagCount: COUNT,
  term: TERM,
}, ['term']);

export const agentRegistrationSchema = object({ shard: NAME, replica: NAME, url: URL });

export const agentReportSchema = object({ shard: NAME, replica: NAME, url: URL, status: agentStatusSchema });

export const relabelConfigSchema = object(
  {
    source_labels: { type: 'array', maxItems: 64, items: IDENT },
    separator: { type: 'string', maxLength: 64 },
    regex: TEXT,
    modulus: COUNT,
    target_label: IDENT,
    replacement: TEXT,
    action: { type: 'string', maxLength: 32 },
  },
  ['source_labels', 'separator', 'regex', 'modulus', 'target_label', 'replacement', 'action'],
);

const REASONS = ['id-pattern', 'unique-per-series', 'growth', 'high-count'] as const;
const PATTERNS = ['uuid', 'ulid', 'hex', 'numeric-id', 'timestamp', 'ip', 'email', 'url-path-id', 'long-string'] as const;

export const cardinalityThresholdsSchema = object({
  max_label_values: COUNT,
  max_value_ratio: RATIO,
  max_series_per_job: COUNT,
  max_churn_ratio: RATIO,
  growth_cycles: COUNT,
  enabled: { type: 'boolean' },
});

export const cardinalityFixSchema = object({
  kind: { enum: ['labeldrop', 'replace'] },
  snippet: TEXT,
  rules: { type: 'array', maxItems: 16, items: relabelConfigSchema },
  resultingRules: { type: 'array', maxItems: 1024, items: relabelConfigSchema },
  existingRules: COUNT,
  residualValues: COUNT,
  valuesExamined: COUNT,
  complete: { type: 'boolean' },
  residualExamples: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 256 } },
  estimatedSeriesSaved: COUNT,
  seriesBefore: COUNT,
  seriesAfter: COUNT,
  note: TEXT,
});

export const cardinalityFlagSchema = object({
  id: { type: 'string', maxLength: 4096 },
  shard: NAME,
  job: IDENT,
  team: IDENT,
  file: { type: 'string', maxLength: 4096 },
  line: COUNT,
  metric: IDENT,
  label: IDENT,
  distinctValues: COUNT,
  seriesAffected: COUNT,
  metricSeries: COUNT,
  valueRatio: RATIO,
  pattern: { enum: [null, ...PATTERNS] },
  patternShare: RATIO,
  sampleSize: COUNT,
  examples: { type: 'array', maxItems: 10, items: { type: 'string', maxLength: 256 } },
  severity: { enum: ['warning', 'critical'] },
  reason: { enum: REASONS },
  reasons: { type: 'array', minItems: 1, maxItems: 8, items: { enum: REASONS } },
  risingCycles: COUNT,
  firstSeen: TIME,
  lastSeen: TIME,
  thresholds: cardinalityThresholdsSchema,
  fix: cardinalityFixSchema,
});

/** GET /v1/flags and POST /v1/cardinality/analyze. */
export const flagsAnswerSchema = object({ flags: { type: 'array', maxItems: 10_000, items: cardinalityFlagSchema } });

export const usageJobSchema = object({ job: IDENT, series: COUNT, targets: COUNT });

/** GET /v1/usage. */
export const usageAnswerSchema = object({
  measuredAt: nullable(TIME),
  headSeries: nullable(COUNT),
  jobs: { type: 'array', maxItems: 100_000, items: usageJobSchema },
});

export const agentTargetSchema = object({ job: IDENT, address: TEXT, health: { enum: ['up', 'down', 'unknown'] }, lastError: TEXT, lastScrape: nullable(TIME) });

/** GET /v1/targets. */
export const targetsAnswerSchema = object({ prometheusReachable: { type: 'boolean' }, targets: { type: 'array', maxItems: 100_000, items: agentTargetSchema } });

/** Largest answer body read from an agent, per endpoint (the schemas bound the parts; this bounds the whole). */
export const MAX_ANSWER_BYTES = {
  apply: 1024 * 1024,
  status: 8 * 1024 * 1024,
  flags: 64 * 1024 * 1024,
  usage: 16 * 1024 * 1024,
  targets: 16 * 1024 * 1024,
} as const;
