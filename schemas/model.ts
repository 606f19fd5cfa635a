// The repository model: what a team file and shards.yaml hold once parsed (input types), and what the
// compiler turns them into (compiled types). The input types mirror schemas/*.schema.json exactly;
// test/schemas/types-match-schemas.test.ts fails if either side drifts.

/** A Prometheus duration string such as `30s`, `1m30s`, `2h`. */
export type Duration = string;
export type LabelSet = Record<string, string>;

export interface Limits {
  sample_limit?: number;
  label_limit?: number;
  label_name_length_limit?: number;
  label_value_length_limit?: number;
  target_limit?: number;
}

export interface CardinalityThresholds {
  /** Distinct values of one label (within one metric of one job) above which it is a candidate. */
  max_label_values?: number;
  /** Share (0..1) of a metric's series that carry a distinct value of the label: 1.0 means unique per series. */
  max_value_ratio?: number;
  /** Series of one job above which the job is analysed label by label. */
  max_series_per_job?: number;
  /** New series per scrape relative to series kept, above which a job is churning. */
  max_churn_ratio?: number;
  /** Consecutive analysis cycles of rising distinct-value counts that flag a label for growth. */
  growth_cycles?: number;
  /** Set false to silence cardinality flags for a job. */
  enabled?: boolean;
}

export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  modulus?: number;
  target_label?: string;
  replacement?: string;
  action?: string;
}

export interface TargetGroup {
  targets: string[];
  labels?: LabelSet;
}

export interface DnsDiscovery {
  names: string[];
  type?: 'A' | 'AAAA' | 'SRV' | 'MX';
  port?: number;
  refresh_interval?: Duration;
}

export interface KubernetesDiscovery {
  role: 'node' | 'service' | 'pod' | 'endpoints' | 'endpointslice' | 'ingress';
  namespaces?: string[];
  label_selector?: string;
  field_selector?: string;
  api_server?: string;
}

export interface Discovery {
  dns?: DnsDiscovery;
  kubernetes?: KubernetesDiscovery;
}

export interface TlsConfig {
  ca_file?: string;
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  insecure_skip_verify?: boolean;
}

export interface BasicAuth {
  username: string;
  password_file: string;
}

export interface Authorization {
  type?: string;
  credentials_file: string;
}

export interface Job {
  name: string;
  description?: string;
  targets?: string[];
  target_groups?: TargetGroup[];
  discovery?: Discovery;
  labels?: LabelSet;
  interval?: Duration;
  timeout?: Duration;
  metrics_path?: string;
  scheme?: 'http' | 'https';
  params?: Record<string, string[]>;
  honor_labels?: boolean;
  limits?: Limits;
  relabel_configs?: RelabelConfig[];
  metric_relabel_configs?: RelabelConfig[];
  tls?: TlsConfig;
  basic_auth?: BasicAuth;
  authorization?: Authorization;
  cardinality?: CardinalityThresholds;
}

export interface TeamFile {
  team: string;
  shard: string;
  description?: string;
  jobs: Job[];
}

export interface Budget {
  max_series: number;
  max_targets: number;
}

export interface ShardDefaults {
  interval?: Duration;
  timeout?: Duration;
  evaluation_interval?: Duration;
  limits?: Limits;
  max_limits?: Limits;
  cardinality?: CardinalityThresholds;
}

export interface Shard {
  name: string;
  description?: string;
  replicas?: number;
  interval?: Duration;
  timeout?: Duration;
  limits?: Limits;
  max_limits?: Limits;
  budget: Budget;
  external_labels?: LabelSet;
  cardinality?: CardinalityThresholds;
  /** Hash splits inside the shard (1 = no split). */
  split?: number;
  /** Target label hashed to pick a target's split. Default `__address__`. */
  split_by?: string;
  /** Replaces the fleet-level list entirely; `[]` turns remote_write off for this shard. */
  remote_write?: RemoteWrite[];
}

/** The queue_config keys Prometheus 2.42 supports. */
export interface RemoteWriteQueue {
  capacity?: number;
  max_shards?: number;
  min_shards?: number;
  max_samples_per_send?: number;
  batch_send_deadline?: Duration;
  min_backoff?: Duration;
  max_backoff?: Duration;
  retry_on_http_429?: boolean;
}

/** One remote_write endpoint. Credentials only as files under `<secrets_root>/<observability_team>/`. */
export interface RemoteWrite {
  name?: string;
  url: string;
  remote_timeout?: Duration;
  headers?: Record<string, string>;
  queue_config?: RemoteWriteQueue;
  write_relabel_configs?: RelabelConfig[];
  basic_auth?: BasicAuth;
  authorization?: Authorization;
  tls_config?: TlsConfig;
}

export interface ShardsFile {
  /** Team credential files must lie under `<secrets_root>/<team>/`. Default /etc/prometheus/secrets. */
  secrets_root?: string;
  /** The team owning fleet-level credentials (remote_write): its files lie under `<secrets_root>/<observability_team>/`. Default `observability`. */
  observability_team?: string;
  /** Every shard's remote_write endpoints unless a shard sets its own. */
  remote_write?: RemoteWrite[];
  defaults?: ShardDefaults;
  shards: Shard[];
}

// ---------------------------------------------------------------------------------------------
// Compiled model: shards → jobs → targets, each element knowing where it came from.

/** A place in the repository: path relative to the repository root, 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface CompiledTarget {
  address: string;
  /** Labels from the job and its target group (not including job/instance/team). */
  labels: LabelSet;
  source: SourceLocation;
}

export interface CompiledJob {
  name: string;
  team: string;
  shard: string;
  source: SourceLocation;
  /** The job as written, with shard defaults applied (interval, timeout, limits filled in). */
  spec: Job & { interval: Duration; timeout: Duration; limits: Limits };
  /** Static targets only; discovered targets are not known until Prometheus resolves them. */
  targets: CompiledTarget[];
  cardinality: Required<CardinalityThresholds>;
}

export interface CompiledShard {
  name: string;
  replicas: number;
  budget: Budget;
  externalLabels: LabelSet;
  evaluationInterval: Duration;
  interval: Duration;
  timeout: Duration;
  jobs: CompiledJob[];
  /** Effective remote_write endpoints (the shard's own list, else the fleet's); empty when it sends nothing. */
  remoteWrite?: RemoteWrite[];
  /** How the shard is split; absent or `count` 1 means one document named after the shard (see core/document/split-name.ts). */
  split?: CompiledSplit;
}

export interface CompiledSplit {
  count: number;
  /** Target label hashed (Prometheus `hashmod`) to pick a target's split. */
  by: string;
}

/** One split of a shard: the unit that gets a document, replicas and its own rollout. */
export interface SplitUnit {
  /** Document name: the shard's name when count is 1, else `<shard>.s<index>`. */
  name: string;
  shard: string;
  index: number;
  count: number;
  by: string;
  /**
   * Set only while the shard is being resharded (core/placement/reshard-overlap.ts): the split this
   * unit was under the previous layout, whose targets it keeps too until their new split has scraped them.
   */
  previous?: { index: number; count: number; by: string };
}

export interface CompiledRepository {
  shards: CompiledShard[];
  /** shards.yaml's secrets_root (or its default), normalised: team credential files lie under `<secretsRoot>/<team>/`. */
  secretsRoot: string;
  /** Every team file that was read, relative to the repository root. */
  files: string[];
}
