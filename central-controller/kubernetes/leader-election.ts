// Leader election on a coordination.k8s.io/v1 Lease, client-go's pattern (client-node has none):
// read the Lease; create it when absent; when it is free (released, or not renewed for a lease
// duration as seen on OUR clock) or already ours, replace it with our holderIdentity and renewTime,
// keeping metadata.resourceVersion so that the API server refuses (409) all but one of racing writers.
//
// Fencing: the Lease carries a term in an annotation (the API drops unknown spec fields). Every new
// holder writes a term above the one it found and above every term an agent has reported, and stamps
// it on its pushes; agents refuse a lower term, so a deposed leader that still reaches them changes
// nothing. The term only ever grows, even when the Lease is deleted and created again.
//
// Expiry is judged the way client-go does, on the local monotonic clock from when we last saw the
// record change, never by comparing the holder's renewTime with our clock: clocks of two pods may
// disagree by more than a lease duration. The leader, in turn, counts its authority from when it SENT
// its last successful renew, and stops (isLeader() turns false by itself) once renewDeadline has passed
// since then, which is before any follower can see the Lease expire (renewDeadline < leaseDuration).
import type { Logger } from '../../core/log/logger.ts';
import { sleep } from '../../core/time/backoff.ts';
import { withCallTimeout } from './call-timeout.ts';
import type { LeaderInfo, Leadership } from './leadership.ts';
import { formatMicroTime, parseKubeTime } from './micro-time.ts';

export const TERM_ANNOTATION = 'promshard.io/term';
export const DEFAULT_LEASE_NAME = 'promshard-controller';
/** client-go's defaults. */
export const LEADER_ELECTION_DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 } as const;

/** The part of a Lease the election reads and writes. */
export interface LeaseRecord {
  /** Required on replace (the API answers 422 without it); absent before create. */
  resourceVersion?: string;
  /** '' when released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number | null;
  renewTime: number | null;
  leaseTransitions: number;
  term: number;
}

/** Someone else wrote the Lease since we read it (409), or created it first. */
export class LeaseConflict extends Error {}

/** The API refused or failed a Lease call; `code` is the HTTP status when there was one. */
export class LeaseApiError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
  ) {
    super(message);
  }
}

/** One Lease, read and written through the Kubernetes API (see kubernetesLeaseStore). */
export interface LeaseStore {
  /** `namespace/name`, for messages. */
  readonly description: string;
  get(): Promise<LeaseRecord | null>;
  create(r: LeaseRecord): Promise<LeaseRecord>;
  replace(r: LeaseRecord): Promise<LeaseRecord>;
}

export interface LeaderElectorOptions {
  store: LeaseStore;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Bound on each API call (client-node's have none); default: the retry period, at least 1 s. */
  callTimeoutMs?: number;
  /** The highest term any agent has reported: a new term is always above it. */
  agentsTerm?: () => number;
  log: Logger;
  /** Called on every failed Lease call with its HTTP status (null: no answer), for the metrics. */
  onError?: (code: number | null) => void;
  /**
   * Fault injection for tests only (PROMSHARD_FAULT_IGNORE_RENEW_DEADLINE): keep believing we lead when
   * renewing fails, as a paused or buggy leader would, to show that fencing alone stops it.
   */
  ignoreRenewDeadline?: boolean;
}

export function validateElectionDurations(o: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): string | null {
  if (o.leaseDurationMs < 1000 || o.leaseDurationMs % 1000 !== 0) return `--lease-duration must be whole seconds, at least 1s (the Lease stores seconds)`;
  if (o.renewDeadlineMs >= o.leaseDurationMs) return `--renew-deadline (${o.renewDeadlineMs} ms) must be shorter than --lease-duration (${o.leaseDurationMs} ms): a leader must stop before followers can see its Lease expire`;
  if (o.retryPeriodMs <= 0 || o.retryPeriodMs * 1.2 >= o.renewDeadlineMs) return `--retry-period (${o.retryPeriodMs} ms) must be positive and well below --renew-deadline (${o.renewDeadlineMs} ms)`;
  return null;
}

export class LeaderElector implements Leadership {
  private readonly leaseMs: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;
  private readonly callTimeoutMs: number;
  private leading = false;
  private myTerm = 0;
  /** performance.now() when the last successful renew (or acquire) was sent. */
  private renewedAt = 0;
  /** The record as last read and when (performance.now()) it last changed. */
  private observed: { key: string; at: number; record: LeaseRecord } | null = null;
  /** The highest term seen anywhere (Lease, agents' refusals). */
  private highestTerm = 0;
  private lastSuccessAt: string | null = null;
  private lastError: string | null = null;
  private loggedError: { text: string; at: number } | null = null;
  private transitions = 0;
  private readonly listeners = new Set<(leading: boolean) => void>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: LeaderElectorOptions) {
    this.leaseMs = o.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs;
    this.deadlineMs = o.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs;
    this.retryMs = o.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs;
    this.callTimeoutMs = o.callTimeoutMs ?? Math.max(1000, this.retryMs);
    const bad = validateElectionDurations({ leaseDurationMs: this.leaseMs, renewDeadlineMs: this.deadlineMs, retryPeriodMs: this.retryMs });
    if (bad) throw new Error(bad);
  }

  start(): void {
    this.loop ??= this.run();
  }

  isLeader(): boolean {
    if (!this.leading) return false;
    return this.o.ignoreRenewDeadline === true || performance.now() - this.renewedAt < this.deadlineMs;
  }

  term(): number {
    return this.myTerm;
  }

  info(): LeaderInfo {
    const rec = this.observed?.record;
    return {
      elected: true,
      identity: this.o.identity,
      isLeader: this.isLeader(),
      leader: this.isLeader() ? this.o.identity : rec && rec.holderIdentity !== '' ? rec.holderIdentity : null,
      term: this.isLeader() ? this.myTerm : (rec?.term ?? 0),
      lease: this.o.store.description,
      lastSuccessAt: this.lastSuccessAt,
      lastError: this.lastError,
      transitions: this.transitions,
    };
  }

  onChange(fn: (leading: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  observedTerm(term: number): void {
    if (term > this.highestTerm) this.highestTerm = term;
    if (this.leading && term > this.myTerm) this.stepDown(`an agent has seen term ${term}, above ours (${this.myTerm}): a newer leader exists`);
  }

  /**
   * Stops the election. With `release` (SIGTERM) a leader first stops pushing, then hands the Lease
   * back (empty holder, 1 s duration, like client-go's ReleaseOnCancel) so a follower takes it at its
   * next read instead of waiting a lease duration.
   */
  async stop(release: boolean): Promise<void> {
    this.stopping.abort();
    await this.loop?.catch(() => undefined);
    const wasLeading = this.leading;
    const rec = this.observed?.record;
    if (this.leading) this.stepDown('shutting down');
    if (!release || !wasLeading || !rec || rec.holderIdentity !== this.o.identity) return;
    const now = Date.now();
    try {
      await this.bounded(() => this.o.store.replace({ ...rec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now }));
      this.o.log.info('leader lease released', { lease: this.o.store.description, term: this.myTerm });
    } catch (err) {
      this.o.log.warn('releasing the leader lease failed; followers take it once it expires', { lease: this.o.store.description, error: (err as Error).message });
    }
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        await this.attempt();
      } catch (err) {
        this.failed(err);
      }
      // Followers read twice per retry period, so a released Lease is taken within about a second.
      await sleep(this.leading ? this.retryMs : this.retryMs / 2, signal).catch(() => undefined);
    }
  }

  private async attempt(): Promise<void> {
    const sentAt = performance.now();
    const now = Date.now();
    const agentsTerm = this.o.agentsTerm?.() ?? 0;
    if (agentsTerm > this.highestTerm) this.highestTerm = agentsTerm;
    const current = await this.bounded(() => this.o.store.get());
    if (!current) {
      const term = Math.max(1, this.highestTerm + 1);
      try {
        const created = await this.bounded(() => this.o.store.create({ holderIdentity: this.o.identity, leaseDurationSeconds: this.leaseMs / 1000, acquireTime: now, renewTime: now, leaseTransitions: 0, term }));
        this.succeeded(created, sentAt);
      } catch (err) {
        if (!(err instanceof LeaseConflict)) throw err;
        this.noted();
      }
      return;
    }
    this.observe(current);
    if (current.term > this.highestTerm) this.highestTerm = current.term;
    const ours = current.holderIdentity === this.o.identity;
    if (!ours && current.holderIdentity !== '' && !this.expired(current)) {
      if (this.leading) this.stepDown(`the Lease is held by ${current.holderIdentity}`);
      this.noted();
      return;
    }
    // A new term for a new holder, and also when an agent has seen a term at or above ours (the Lease
    // was deleted and created again): the term must stay above everything agents have seen.
    const newTerm = !ours || this.highestTerm > current.term;
    const next: LeaseRecord = {
      ...current,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.leaseMs / 1000,
      renewTime: now,
      acquireTime: ours ? (current.acquireTime ?? now) : now,
      leaseTransitions: ours ? current.leaseTransitions : current.leaseTransitions + 1,
      term: newTerm ? Math.max(current.term, this.highestTerm) + 1 : current.term,
    };
    try {
      const written = await this.bounded(() => this.o.store.replace(next));
      this.succeeded(written, sentAt);
    } catch (err) {
      if (!(err instanceof LeaseConflict)) throw err;
      // Lost the race: someone wrote the Lease after our read. Whoever it was, we do not lead now.
      if (this.leading) this.stepDown('another writer changed the Lease first (409)');
      this.noted();
    }
  }

  private succeeded(rec: LeaseRecord, sentAt: number): void {
    this.observe(rec);
    this.renewedAt = sentAt;
    this.noted();
    if (rec.term > this.highestTerm) this.highestTerm = rec.term;
    if (!this.leading || this.myTerm !== rec.term) {
      // A new term while leading (the Lease was recreated) is announced too: workers fence agents again.
      if (!this.leading) this.transitions++;
      this.leading = true;
      this.myTerm = rec.term;
      this.o.log.info('became leader', { identity: this.o.identity, lease: this.o.store.description, term: rec.term, leaseTransitions: rec.leaseTransitions });
      this.emit(true);
    }
    this.armDeadline();
  }

  /** Steps down on its own at the renew deadline, even while an API call hangs. */
  private armDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (this.o.ignoreRenewDeadline) return;
    const left = this.renewedAt + this.deadlineMs - performance.now();
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = null;
      if (this.leading && !this.isLeader()) this.stepDown(`could not renew the Lease within the renew deadline (${this.deadlineMs} ms)${this.lastError ? `: ${this.lastError}` : ''}`);
    }, Math.max(0, left));
    this.deadlineTimer.unref();
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.transitions++;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.o.log.warn('stepped down: no longer leader, pushing stops', { identity: this.o.identity, term: this.myTerm, reason: why });
    this.emit(false);
  }

  private emit(leading: boolean): void {
    for (const fn of [...this.listeners]) {
      try {
        fn(leading);
      } catch (err) {
        this.o.log.error('leadership listener failed', { error: err });
      }
    }
  }

  private observe(rec: LeaseRecord): void {
    const key = `${rec.holderIdentity}\0${rec.renewTime}\0${rec.resourceVersion ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, at: performance.now(), record: rec };
    else this.observed.record = rec;
  }

  private expired(rec: LeaseRecord): boolean {
    return !this.observed || this.observed.at + rec.leaseDurationSeconds * 1000 <= performance.now();
  }

  private noted(): void {
    this.lastSuccessAt = new Date().toISOString();
    if (this.lastError) this.o.log.info('Lease API calls succeed again', { lease: this.o.store.description });
    this.lastError = null;
    this.loggedError = null;
  }

  /** An API error is shown (info, metrics, log) and retried every period; it never ends the process. */
  private failed(err: unknown): void {
    const text = err instanceof Error ? err.message : String(err);
    this.lastError = text;
    this.o.onError?.(err instanceof LeaseApiError ? err.code : null);
    const now = Date.now();
    // Logged when it changes and then once a minute, not every retry period.
    if (!this.loggedError || this.loggedError.text !== text || now - this.loggedError.at > 60_000) {
      this.loggedError = { text, at: now };
      this.o.log.error('leader election: Lease call failed; retrying', { lease: this.o.store.description, error: text, leading: this.leading });
    }
  }

  private bounded<T>(call: () => Promise<T>): Promise<T> {
    return withCallTimeout(call(), this.callTimeoutMs, () => new LeaseApiError(`Lease call to the Kubernetes API timed out after ${this.callTimeoutMs} ms`, null));
  }
}

/** The Lease through @kubernetes/client-node (imported lazily: it is heavy, and only Kubernetes mode needs it). */
export async function kubernetesLeaseStore(kubeConfig: import('@kubernetes/client-node').KubeConfig, namespace: string, name: string): Promise<LeaseStore> {
  const k8s = await import('@kubernetes/client-node'); // cached by Node: paid once, and only in Kubernetes mode
  const api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const description = `${namespace}/${name}`;
  // The metadata we read is written back, so labels and annotations others set survive our replaces.
  let lastMeta: import('@kubernetes/client-node').V1ObjectMeta | undefined;
  const toRecord = (l: import('@kubernetes/client-node').V1Lease): LeaseRecord => {
    lastMeta = l.metadata;
    const term = Number(l.metadata?.annotations?.[TERM_ANNOTATION] ?? 0);
    return {
      resourceVersion: l.metadata?.resourceVersion,
      holderIdentity: l.spec?.holderIdentity ?? '',
      leaseDurationSeconds: l.spec?.leaseDurationSeconds ?? 0,
      acquireTime: parseKubeTime(l.spec?.acquireTime),
      renewTime: parseKubeTime(l.spec?.renewTime),
      leaseTransitions: l.spec?.leaseTransitions ?? 0,
      term: Number.isSafeInteger(term) && term >= 0 ? term : 0,
    };
  };
  const toLease = (r: LeaseRecord): import('@kubernetes/client-node').V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...(lastMeta?.labels ? { labels: lastMeta.labels } : {}),
      name,
      namespace,
      ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}),
      annotations: { ...(lastMeta?.annotations ?? {}), [TERM_ANNOTATION]: String(r.term) },
    },
    spec: {
      holderIdentity: r.holderIdentity,
      leaseDurationSeconds: r.leaseDurationSeconds,
      leaseTransitions: r.leaseTransitions,
      // client-node passes these strings through as they are; a Date would go out with three digits.
      ...(r.acquireTime !== null ? { acquireTime: formatMicroTime(r.acquireTime) as unknown as Date } : {}),
      ...(r.renewTime !== null ? { renewTime: formatMicroTime(r.renewTime) as unknown as Date } : {}),
    },
  });
  const wrap = (verb: string, err: unknown): Error => apiError(`${verb} lease ${description}`, err, k8s.ApiException);
  return {
    description,
    async get() {
      try {
        return toRecord(await api.readNamespacedLease({ name, namespace }));
      } catch (err) {
        if (err instanceof k8s.ApiException && err.code === 404) return null;
        throw wrap('get', err);
      }
    },
    async create(r) {
      lastMeta = undefined;
      try {
        return toRecord(await api.createNamespacedLease({ namespace, body: toLease({ ...r, resourceVersion: undefined }) }));
      } catch (err) {
        if (err instanceof k8s.ApiException && err.code === 409) throw new LeaseConflict(`lease ${description} was created by someone else first`);
        throw wrap('create', err);
      }
    },
    async replace(r) {
      if (!r.resourceVersion) throw new Error(`replacing lease ${description} without a resourceVersion (the API would answer 422)`);
      try {
        return toRecord(await api.replaceNamespacedLease({ name, namespace, body: toLease(r) }));
      } catch (err) {
        if (err instanceof k8s.ApiException && err.code === 409) throw new LeaseConflict(`lease ${description} changed since it was read`);
        throw wrap('update', err);
      }
    },
  };
}

/**
 * A readable error from a client-node failure: the verb and object, the HTTP status, and the API's own
 * message (its body is a JSON string: a Status). RBAC refusals say which permission is missing.
 */
export function apiError(what: string, err: unknown, ApiException: new (...args: never[]) => Error): Error {
  if (err instanceof ApiException) {
    const e = err as Error & { code: number; body: unknown };
    let message = '';
    try {
      const status = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      message = typeof status?.message === 'string' ? status.message : '';
    } catch {
      message = typeof e.body === 'string' ? e.body.slice(0, 300) : '';
    }
    const hint = e.code === 403 ? ' (RBAC: the controller\'s service account needs this permission; see deploy/kubernetes/ and docs/kubernetes.md)' : e.code === 401 ? ' (the API did not accept the credentials)' : '';
    return new LeaseApiError(`cannot ${what}: HTTP ${e.code}${message ? `: ${message}` : ''}${hint}`, e.code);
  }
  return new LeaseApiError(`cannot ${what}: ${err instanceof Error ? err.message : String(err)}`, null);
}
