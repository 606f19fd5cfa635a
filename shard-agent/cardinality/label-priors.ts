// What a label's name says before its values are looked at. Names that usually carry identifiers lower
// the bar (factor < 1); well-known bounded labels raise it (factor > 1). The factor multiplies every
// count threshold of the label (see thresholds.ts).

export type LabelPrior = 'id-like' | 'bounded' | 'neutral';

export const ID_LIKE_FACTOR = 0.5;
export const BOUNDED_FACTOR = 5;

/** Labels never queried by the label pass: structural, or bounded by configuration (see docs/cardinality.md). */
export const SKIPPED_LABELS: ReadonlySet<string> = new Set(['__name__', 'job', 'instance', 'le', 'quantile']);

const BOUNDED = new Set([
  'le',
  'quantile',
  'code',
  'status',
  'status_code',
  'statuscode',
  'http_status',
  'grpc_code',
  'grpc_method',
  'grpc_service',
  'grpc_type',
  'method',
  'verb',
  'handler',
  'route',
  'instance',
  'job',
  'mode',
  'cpu',
  'device',
  'fstype',
  'mountpoint',
  'state',
  'phase',
  'version',
  'goversion',
  'le',
  'operation',
  'result',
  'outcome',
  'reason',
  'direction',
  'protocol',
  'scheme',
  'severity',
  'level',
  'type',
  'kind',
  'region',
  'zone',
  'cluster',
  'env',
  'environment',
  'namespace',
  'service',
  'component',
  'resource',
  'quantile',
  'shard',
  'replica',
  'team',
  'tier',
]);

const ID_TOKENS = new Set([
  'id',
  'ids',
  'uuid',
  'guid',
  'ulid',
  'request',
  'req',
  'session',
  'trace',
  'span',
  'run',
  'build',
  'pipeline',
  'commit',
  'sha',
  'hash',
  'digest',
  'path',
  'url',
  'uri',
  'query',
  'error',
  'err',
  'message',
  'msg',
  'user',
  'username',
  'email',
  'customer',
  'account',
  'order',
  'transaction',
  'txn',
  'token',
  'ip',
  'addr',
  'address',
  'client',
  'remote',
  'timestamp',
  'time',
  'date',
  'pid',
  'nonce',
  'key',
]);

/** Splits snake_case, kebab-case and camelCase names into lower-case tokens. */
export function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_\-.]+/)
    .filter(Boolean);
}

export function labelPrior(name: string): LabelPrior {
  const lower = name.toLowerCase();
  if (BOUNDED.has(lower)) return 'bounded';
  if (lower.endsWith('_id')) return 'id-like';
  if (nameTokens(name).some((t) => ID_TOKENS.has(t))) return 'id-like';
  return 'neutral';
}

export function priorFactor(prior: LabelPrior): number {
  return prior === 'id-like' ? ID_LIKE_FACTOR : prior === 'bounded' ? BOUNDED_FACTOR : 1;
}
