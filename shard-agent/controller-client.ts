// The agent's side of the controller protocol: register, pull the desired document (the repair path:
// a push can be lost, a pull every --pull-interval converges anyway), and send status reports. The
// controller being down never stops the agent: every call retries with exponential backoff and
// jitter, and reports queue in a bounded drop-oldest queue so that reporting never blocks an apply.
import { requestWithDeadline, type BufferedAnswer } from '../core/http/fetch-with-deadline.ts';
import type { Logger } from '../core/log/logger.ts';
import type { AgentRegistration, AgentReport, AgentStatus } from '../core/protocol/agent-api.ts';
import type { AgentMetrics } from './agent-metrics.ts';
import { backoffDelayMs, sleep } from '../core/time/backoff.ts';
import { DropOldestQueue } from './report-queue.ts';

export interface ControllerClientOptions {
  url: string;
  token: string;
  registration: AgentRegistration;
  pullIntervalMs: number;
  heartbeatMs: number;
  reportQueueSize: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  metrics: AgentMetrics;
  log: Logger;
  status(): AgentStatus;
  /** Hash applied now, and hash Prometheus last refused: a pulled document with either is not applied again. */
  appliedHash(): string | null;
  refusedHash(): string | null;
  applyPulled(document: unknown): Promise<void>;
}

/** The `error` of a JSON answer, shortened (it goes to the log). */
function reasonOf(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: unknown }).error;
    return typeof e === 'string' ? e.slice(0, 300) : 'no reason given';
  } catch {
    return 'no reason given';
  }
}

export class ControllerClient {
  private readonly abort = new AbortController();
  private readonly reports: DropOldestQueue<AgentReport>;
  private loops: Promise<void>[] = [];
  private heartbeat: NodeJS.Timeout | null = null;
  registered = false;
  lastPullError: string | null = null;

  constructor(private readonly o: ControllerClientOptions) {
    this.o = { ...o, url: o.url.replace(/\/+$/, '') };
    this.reports = new DropOldestQueue<AgentReport>(o.reportQueueSize, (n) => o.metrics.reportsDroppedTotal.inc(n));
  }

  start(): void {
    this.loops = [this.registerThenPullLoop(), this.reportLoop()];
    this.heartbeat = setInterval(() => {
      // A throw in a timer is uncaught and would end the agent: a failed heartbeat costs one report.
      try {
        this.enqueueReport();
      } catch (err) {
        this.o.log.error('queueing a heartbeat report failed', { error: err });
      }
    }, this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.allSettled(this.loops);
  }

  get droppedReports(): number {
    return this.reports.dropped;
  }

  enqueueReport(): void {
    this.reports.push({ ...this.o.registration, status: this.o.status() });
    this.o.metrics.reportQueueLength.set(this.reports.length);
  }

  // node:http rather than fetch, as for Prometheus (prometheus-client.ts): undici's memory for nothing.
  private call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<BufferedAnswer> {
    return requestWithDeadline(
      this.o.url + path,
      {
        method,
        headers: { authorization: `Bearer ${this.o.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      },
      this.o.requestTimeoutMs,
      this.abort.signal,
    );
  }

  private describe(err: unknown): string {
    const e = err as Error & { code?: string };
    return e.code ?? e.message;
  }

  private async registerThenPullLoop(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted && !this.registered) {
      try {
        await this.registerOnce();
      } catch (err) {
        if (signal.aborted) return;
        this.o.metrics.controllerErrorsTotal.inc({ operation: 'register' });
        const delay = backoffDelayMs(attempt++, this.o.backoffBaseMs, this.o.backoffMaxMs);
        this.o.log.warn('controller registration failed; retrying', { controller: this.o.url, error: this.describe(err), retryInMs: delay });
        await sleep(delay, signal);
      }
    }
    // The first pull follows registration at once: a restarted agent converges without waiting a period.
    attempt = 0;
    while (!signal.aborted) {
      try {
        await this.pullOnce();
        attempt = 0;
        this.lastPullError = null;
        await sleep(this.o.pullIntervalMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        this.o.metrics.controllerErrorsTotal.inc({ operation: 'pull' });
        this.lastPullError = this.describe(err);
        const delay = Math.min(backoffDelayMs(attempt++, this.o.backoffBaseMs, this.o.backoffMaxMs), this.o.pullIntervalMs);
        this.o.log.warn('pulling the desired document failed; retrying', { controller: this.o.url, error: this.lastPullError, retryInMs: delay });
        await sleep(delay, signal);
      }
    }
  }

  private async registerOnce(): Promise<void> {
    const res = await this.call('POST', '/v1/agents/register', this.o.registration);
    const text = res.body.toString('utf8');
    // The controller's reason matters here: a 403 says this agent holds another replica's credential.
    if (!res.ok) throw new Error(`controller answered ${res.status}${res.status === 403 ? `: ${reasonOf(text)}` : ''}`);
    this.registered = true;
    this.o.log.info('registered with the controller', { controller: this.o.url });
  }

  /** One pull: fetch the desired document and apply it if it differs from what runs. */
  async pullOnce(): Promise<void> {
    const { shard, replica } = this.o.registration;
    const res = await this.call('GET', `/v1/agents/desired?shard=${encodeURIComponent(shard)}&replica=${encodeURIComponent(replica)}`);
    if (res.status === 404) return;
    if (!res.ok) throw new Error(`controller answered ${res.status} to the desired-document pull`);
    const doc = res.json() as { hash?: unknown };
    if (doc.hash === this.o.appliedHash()) return;
    if (doc.hash === this.o.refusedHash()) {
      this.o.log.debug('pulled document was refused by Prometheus before; not retrying it', { hash: String(doc.hash).slice(0, 12) });
      return;
    }
    await this.o.applyPulled(doc);
  }

  private async reportLoop(): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      await this.reports.waitForItem(signal);
      const report = this.reports.peek();
      if (!report || signal.aborted) continue;
      try {
        const res = await this.call('POST', '/v1/agents/report', report);
        // A controller that restarted has forgotten us: register again, then resend.
        if (res.status === 404 || res.status === 410) await this.registerOnce().catch(() => undefined);
        if (!res.ok) throw new Error(`controller answered ${res.status}`);
        this.reports.ack(report);
        this.o.metrics.reportQueueLength.set(this.reports.length);
        attempt = 0;
      } catch (err) {
        if (signal.aborted) return;
        this.o.metrics.controllerErrorsTotal.inc({ operation: 'report' });
        const delay = backoffDelayMs(attempt++, this.o.backoffBaseMs, this.o.backoffMaxMs);
        if (attempt === 1 || attempt % 10 === 0) this.o.log.warn('sending a status report failed; retrying', { controller: this.o.url, error: this.describe(err), retryInMs: delay, queued: this.reports.length });
        await sleep(delay, signal);
      }
    }
  }
}
