// Who may change the fleet. Outside Kubernetes there is one controller and it always leads (term 0);
// in Kubernetes mode the leader elector (leader-election.ts) implements this, and every part that
// pushes, reconciles or writes status asks it first.

export interface LeaderInfo {
  /** false outside Kubernetes mode: this controller always leads and there is no term. */
  elected: boolean;
  /** This controller's identity (pod name or hostname) in the Lease. */
  identity: string;
  /** Whether this controller leads now (may push). */
  isLeader: boolean;
  /** The Lease's holder as last read, or null when nobody holds it (or it was never read). */
  leader: string | null;
  /** The term of the current leadership: grows with every new holder; 0 outside Kubernetes. */
  term: number;
  /** The Lease, as `namespace/name`; null outside Kubernetes. */
  lease: string | null;
  /** When this controller last renewed (leader) or read (follower) the Lease, ISO 8601. */
  lastSuccessAt: string | null;
  /** The last error talking to the API about the Lease (e.g. RBAC 403), cleared by the next success. */
  lastError: string | null;
  /** Times this controller became leader or stepped down since it started. */
  transitions: number;
}

export interface Leadership {
  /** True while this controller may push. Read it right before each push: it turns false on its own once renewing fails past the renew deadline. */
  isLeader(): boolean;
  /** The term to stamp on pushes; 0 outside Kubernetes. */
  term(): number;
  info(): LeaderInfo;
  /** Called with true when this controller becomes leader, false when it steps down. */
  onChange(fn: (leading: boolean) => void): () => void;
  /** An agent refused a push because it has seen `term`: a newer leader exists; step down at once if it is above ours. */
  observedTerm(term: number): void;
}

/** Outside Kubernetes: always the leader, no term. */
export function soleController(identity: string): Leadership {
  const info: LeaderInfo = { elected: false, identity, isLeader: true, leader: identity, term: 0, lease: null, lastSuccessAt: null, lastError: null, transitions: 0 };
  return {
    isLeader: () => true,
    term: () => 0,
    info: () => ({ ...info }),
    onChange: () => () => undefined,
    observedTerm: () => undefined,
  };
}
