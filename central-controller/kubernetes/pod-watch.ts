// List + watch of the Pods of one namespace, built to never stall silently. client-node 1.x's
// informer stops for good on any error but 410, never asks for bookmarks, and its watches have no
// client-side timeout (FIELD-NOTES), so this uses `Watch` directly and adds what is missing:
//   - restart after any error, with backoff (core/time/backoff.ts); a 403 is one more error to retry,
//     shown by `status()` until a request succeeds;
//   - on 410 Gone (in-stream ERROR or an expired continue token) a relist, diffed against the pods
//     already known: vanished pods are reported deleted, unchanged ones are not reported again;
//   - bookmarks requested, so a quiet namespace still shows the watch alive;
//   - a watchdog: a watch that delivers nothing (no event, no bookmark) and does not end for longer
//     than `silenceMs` is abandoned and the pods relisted. A healthy watch never trips it: the server
//     ends each watch after `timeoutSeconds` at the latest, so the bound is that plus a margin;
//   - a deadline on every list request.
import type { KubeConfig, V1Pod, V1PodList, CoreV1Api } from '@kubernetes/client-node';
import { backoffDelayMs, sleep } from '../../core/time/backoff.ts';
import type { ClientNode } from './kube-config.ts';

export type RestartReason = 'gone' | 'watchdog' | 'forbidden' | 'unauthorized' | 'list-timeout' | 'error';

export interface PodWatchOptions {
  k8s: ClientNode;
  kc: KubeConfig;
  namespace: string;
  labelSelector: string;
  onUpsert(pod: V1Pod): void;
  onDelete(pod: V1Pod): void;
  /** Every restart of the list/watch, by reason (metrics). */
  onRestart?(reason: RestartReason, error: string | null): void;
  /** Server ends each watch after this many seconds (default 60). */
  watchTimeoutSeconds?: number;
  /** Watchdog bound: a watch silent this long is replaced by a relist (default timeout + 30 s). */
  silenceMs?: number;
  /** Deadline of each list request (default 30 s). */
  listTimeoutMs?: number;
  /** Page size of a list (default 500). */
  pageSize?: number;
  backoffBaseMs?: number; // default 500 ms
  backoffMaxMs?: number; // default 30 s
}

export interface PodWatchStatus {
  namespace: string;
  /** False while the last list or watch attempt failed. */
  ok: boolean;
  /** Last failure, e.g. the API's 403 message; null once a request succeeds again. */
  lastError: string | null;
  lastErrorAt: string | null;
  /** When the watch last delivered anything (event or bookmark) or a list completed, ms since epoch. */
  lastEventAt: number | null;
  restarts: number;
  pods: number;
}

type WatchEnd = { kind: 'closed' | 'gone' | 'silent' } | { kind: 'error'; error: unknown };

export class PodWatch {
  private readonly known = new Map<string, V1Pod>();
  private readonly stopper = new AbortController();
  private running: Promise<void> | null = null;
  private readonly api: CoreV1Api;
  private readonly o: Required<Omit<PodWatchOptions, 'onRestart'>> & Pick<PodWatchOptions, 'onRestart'>;
  private state: PodWatchStatus;
  private listedOnce!: () => void;
  /** Resolves after the first successful list (the pods are known). */
  readonly firstList: Promise<void>;

  constructor(opts: PodWatchOptions) {
    const watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 60;
    this.o = {
      ...opts,
      watchTimeoutSeconds,
      silenceMs: opts.silenceMs ?? watchTimeoutSeconds * 1000 + 30_000,
      listTimeoutMs: opts.listTimeoutMs ?? 30_000,
      pageSize: opts.pageSize ?? 500,
      backoffBaseMs: opts.backoffBaseMs ?? 500,
      backoffMaxMs: opts.backoffMaxMs ?? 30_000,
    };
    this.api = opts.kc.makeApiClient(opts.k8s.CoreV1Api);
    this.state = { namespace: opts.namespace, ok: false, lastError: null, lastErrorAt: null, lastEventAt: null, restarts: 0, pods: 0 };
    this.firstList = new Promise((resolve) => (this.listedOnce = resolve));
  }

  status(): PodWatchStatus {
    return { ...this.state, pods: this.known.size };
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async loop(): Promise<void> {
    let rv: string | null = null;
    let attempt = 0;
    while (!this.stopped) {
      try {
        if (rv === null) {
          rv = await this.relist();
          this.healthy();
          this.listedOnce();
        }
        const startedAt = Date.now();
        const { end, lastRv } = await this.watchOnce(rv);
        rv = lastRv;
        if (this.stopped) return;
        if (end.kind === 'closed') {
          // The server's timeoutSeconds: resume where it left off. One that closes at once, again and
          // again, must not turn into a hot loop.
          if (Date.now() - startedAt < 1000) await sleep(backoffDelayMs(attempt++, this.o.backoffBaseMs, this.o.backoffMaxMs), this.stopper.signal);
          else attempt = 0;
          continue;
        }
        if (end.kind === 'gone' || end.kind === 'silent') {
          this.restarted(end.kind === 'gone' ? 'gone' : 'watchdog', null);
          rv = null;
          continue;
        }
        throw (end as { error: unknown }).error;
      } catch (err) {
        if (this.stopped) return;
        const code = httpCode(err);
        // An expired continue token is a 410 too: start the list over.
        if (code === 410) {
          this.restarted('gone', null);
          rv = null;
          continue;
        }
        // An HTTP refusal (403, 401, 5xx): retry with a list, whose answer carries the API's message
        // (Watch keeps only the status code). A broken connection resumes the watch where it was.
        if (code !== undefined) rv = null;
        const reason: RestartReason = code === 403 ? 'forbidden' : code === 401 ? 'unauthorized' : (err as Error).name === 'ListTimeout' ? 'list-timeout' : 'error';
        const message = describeError(err, this.o.namespace);
        this.state.ok = false;
        this.state.lastError = message;
        this.state.lastErrorAt = new Date().toISOString();
        this.restarted(reason, message);
        await sleep(backoffDelayMs(attempt++, this.o.backoffBaseMs, this.o.backoffMaxMs), this.stopper.signal);
      }
    }
  }

  private healthy(): void {
    this.state.ok = true;
    this.state.lastError = null;
  }

  private restarted(reason: RestartReason, error: string | null): void {
    this.state.restarts++;
    this.o.onRestart?.(reason, error);
  }

  /** A full list (paged), diffed against the known pods. Returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const listed = new Map<string, V1Pod>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page: V1PodList = await this.withDeadline((signal) =>
        this.api.listNamespacedPod({ namespace: this.o.namespace, labelSelector: this.o.labelSelector, limit: this.o.pageSize, _continue: cont }, signalOption(signal)),
      );
      if (!rv) rv = page.metadata?.resourceVersion ?? '';
      for (const pod of page.items) listed.set(keyOf(pod), pod);
      cont = page.metadata?._continue || undefined;
    } while (cont && !this.stopped);
    if (this.stopped) return rv;
    for (const [key, pod] of [...this.known]) {
      if (!listed.has(key)) {
        this.known.delete(key);
        this.o.onDelete(pod);
      }
    }
    for (const [key, pod] of listed) {
      const before = this.known.get(key);
      if (before && before.metadata?.resourceVersion === pod.metadata?.resourceVersion) continue;
      this.known.set(key, pod);
      this.o.onUpsert(pod);
    }
    this.state.lastEventAt = Date.now();
    return rv;
  }

  private async withDeadline<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = AbortSignal.timeout(this.o.listTimeoutMs);
    try {
      return await fn(AbortSignal.any([deadline, this.stopper.signal]));
    } catch (err) {
      if (deadline.aborted) {
        const e = new Error(`listing pods in namespace ${this.o.namespace} took longer than ${this.o.listTimeoutMs} ms`);
        e.name = 'ListTimeout';
        throw e;
      }
      throw err;
    }
  }

  /** One watch from `rv`, until it ends, fails, reports 410, or goes silent past the bound. */
  private watchOnce(rv: string): Promise<{ end: WatchEnd; lastRv: string }> {
    let lastRv = rv;
    return new Promise((resolve) => {
      let settled = false;
      let ctl: AbortController | null = null;
      let watchdog: NodeJS.Timeout | null = null;
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        if (watchdog) clearTimeout(watchdog);
        this.stopper.signal.removeEventListener('abort', onStop);
        ctl?.abort();
        resolve({ end, lastRv });
      };
      // Armed before the request: a server that never answers the watch's headers is a stall too.
      const arm = () => {
        if (watchdog) clearTimeout(watchdog);
        watchdog = setTimeout(() => finish({ kind: 'silent' }), this.o.silenceMs);
      };
      const onStop = () => finish({ kind: 'closed' });
      this.stopper.signal.addEventListener('abort', onStop, { once: true });
      arm();
      const watch = new this.o.k8s.Watch(this.o.kc);
      watch
        .watch(
          `/api/v1/namespaces/${encodeURIComponent(this.o.namespace)}/pods`,
          { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: this.o.watchTimeoutSeconds, labelSelector: this.o.labelSelector },
          (type: string, obj: any) => {
            if (settled) return;
            arm();
            this.state.lastEventAt = Date.now();
            if (type === 'ERROR') {
              const code = obj?.code;
              return finish(code === 410 ? { kind: 'gone' } : { kind: 'error', error: Object.assign(new Error(obj?.message ?? 'watch error'), { code }) });
            }
            const objRv = obj?.metadata?.resourceVersion;
            if (objRv) lastRv = objRv;
            if (type === 'BOOKMARK') return;
            const key = keyOf(obj);
            if (type === 'DELETED') {
              const before = this.known.get(key);
              if (before) {
                this.known.delete(key);
                this.o.onDelete(obj);
              }
              return;
            }
            if (type === 'ADDED' || type === 'MODIFIED') {
              const before = this.known.get(key);
              if (before && before.metadata?.resourceVersion === objRv) return;
              this.known.set(key, obj);
              this.o.onUpsert(obj);
            }
          },
          (err: unknown) => {
            if (!err) return finish({ kind: 'closed' });
            const code = (err as { statusCode?: number }).statusCode;
            finish({ kind: 'error', error: Object.assign(err as Error, code ? { code } : {}) });
          },
        )
        .then((c) => {
          ctl = c;
          if (settled) c.abort();
          else this.healthy();
        })
        .catch((err) => finish({ kind: 'error', error: err }));
    });
  }
}

/** The HTTP status of an API error (ApiException.code, Watch's statusCode, an in-stream Status); node's own errors carry string codes. */
function httpCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  const c = typeof e?.code === 'number' ? e.code : e?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/**
 * Per-request options carrying an AbortSignal (client-node 1.x API calls have no timeout of their own).
 * The object-parameter API hands middleware to its observable layer, which only calls `toPromise()` on
 * what a middleware returns.
 */
function signalOption(signal: AbortSignal): any {
  const done = <T>(v: T) => ({ toPromise: () => Promise.resolve(v) });
  return {
    middleware: [
      {
        pre: (ctx: { setSignal(s: AbortSignal): void }) => {
          ctx.setSignal(signal);
          return done(ctx);
        },
        post: (r: unknown) => done(r),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** The API's own message where there is one (a 403 names the verb, resource and user). */
export function describeError(err: unknown, namespace: string): string {
  const e = err as { body?: unknown; message?: string };
  const code = httpCode(err);
  let apiMessage: string | null = null;
  if (typeof e.body === 'string') {
    try {
      apiMessage = JSON.parse(e.body)?.message ?? null;
    } catch {
      apiMessage = null;
    }
  }
  if (code === 403) return `Kubernetes API refused (403 Forbidden) to list/watch pods in namespace ${namespace}: ${apiMessage ?? 'forbidden'}; grant the controller's ServiceAccount get/list/watch on pods there (RBAC)`;
  if (code === 401) return `Kubernetes API did not accept the controller's credentials (401 Unauthorized) for pods in namespace ${namespace}`;
  if (code) return `Kubernetes API answered ${code} for pods in namespace ${namespace}: ${apiMessage ?? e.message ?? ''}`.trim();
  return `pods in namespace ${namespace}: ${e.message ?? String(err)}`;
}
