// GET /dashboard/events: the pages' live feed (server-sent events, under the dashboard's own auth so
// that the session cookie works; the API's /v1/events/stream takes bearer tokens only).
//   event: timeline  data: a ControllerEvent (the script prepends it to the timeline)
//   event: change    data: {"reason": ...}  (the script re-fetches the page and swaps its content)
// Besides the controller's own 'event'/'shard'/'repository' notifications, a signature of what the
// pages show (agent states, applied hashes, last results, flags, series) is compared every second
// while a stream is open, so that changes that emit no event (a heartbeat carrying a new reload
// result, new cardinality flags) still reach open pages within about a second.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { ControllerEvent, ControllerState } from '../controller-state.ts';
import type { ControllerRuntime } from '../runtime.ts';
import { freshestUsageByShard, seriesOfUsage } from '../controller-state.ts';
import { faultOf } from '../agent-registry.ts';
import { sseFrame } from '../event-streams.ts';

export function viewSignature(state: ControllerState): string {
  const usage = freshestUsageByShard(state);
  const h = createHash('sha1');
  const r = state.repository;
  h.update(`${r.head?.sha}|${r.lastGood?.sha}|${r.valid}|${r.findings.length}|${r.lastSyncError}\n`);
  for (const s of state.shards.values()) {
    h.update(`S${s.name}|${s.desired?.hash}|${s.released?.hash}|${s.rollout?.hash}|${s.rollout?.status}|${s.rollout?.proven.length}|${s.history.length}|${usage.has(s.name) ? seriesOfUsage(usage.get(s.name)!) : ''}\n`);
  }
  for (const a of state.agents.all()) {
    const last = a.status?.lastResult;
    h.update(`A${a.key}|${a.reachable}|${a.applied?.hash}|${a.applied?.verified}|${last?.finishedAt}|${last?.result}|${a.failure?.hash}|${a.status?.flagCount}|${a.status?.prometheusReachable}|${a.lastPush?.at}|${faultOf(a)?.at}\n`);
  }
  for (const f of state.allFlags()) h.update(`F${f.id}|${f.severity}|${f.distinctValues}\n`);
  return h.digest('hex');
}

interface Client {
  write(chunk: string): void;
}

export class LiveHub {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | null = null;
  private signature = '';
  private pendingChange: NodeJS.Timeout | null = null;
  private pendingReason = '';
  private closed = false;

  constructor(
    private readonly rt: ControllerRuntime,
    private readonly watchMs = 1000,
  ) {
    const state = rt.state;
    state.events.on('event', (e: ControllerEvent) =>
      this.guarded('event', () => {
        this.broadcast('timeline', e, e.id);
        this.change(e.type);
      }),
    );
    state.events.on('shard', (name: string) => this.change(`shard:${name}`));
    state.events.on('repository', () => this.change('repository'));
    // Target health changes arrive through the revision records only (no timeline event).
    state.revisions.onChange((sha) => this.guarded('revision', () => this.change(`revision:${sha}`)));
    rt.onClose(() => this.close());
  }

  get size(): number {
    return this.clients.size;
  }

  handle(req: Request, res: Response): void {
    if (this.closed) return void res.status(503).end();
    let keepAlive: NodeJS.Timeout | null = null;
    const client: Client = { write: () => undefined };
    const stream = this.rt.streams.admit(req, res, 'dashboard', () => {
      if (keepAlive) clearInterval(keepAlive);
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopWatch();
    });
    if (!stream) return;
    client.write = stream.write;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    client.write(`retry: 2000\n${sseFrame('hello', { at: new Date().toISOString() })}`);
    // Events the page missed since it was rendered (or since the stream dropped).
    const since = Number(req.headers['last-event-id'] ?? req.query.since ?? 0);
    if (Number.isFinite(since) && since > 0) for (const e of this.rt.state.recentEvents(200, since).reverse()) this.sendTo(client, 'timeline', e, e.id);
    this.clients.add(client);
    keepAlive = setInterval(() => client.write(': keep-alive\n\n'), 15_000);
    this.startWatch();
  }

  private sendTo(c: Client, type: string, data: unknown, id?: number): void {
    c.write(sseFrame(type, data, id));
  }

  private broadcast(type: string, data: unknown, id?: number): void {
    for (const c of this.clients) this.sendTo(c, type, data, id);
  }

  /** Runs a timer or listener body: a throw there would be uncaught and end the process. */
  private guarded(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.rt.log.error('dashboard live feed failed', { what, error: err });
    }
  }

  /** Coalesces change notifications: at most one every 150 ms. */
  private change(reason: string): void {
    if (this.clients.size === 0) return;
    this.pendingReason = reason;
    this.pendingChange ??= setTimeout(
      () =>
        this.guarded('change', () => {
          this.pendingChange = null;
          this.signature = viewSignature(this.rt.state);
          this.broadcast('change', { reason: this.pendingReason });
        }),
      150,
    );
  }

  private startWatch(): void {
    if (this.timer) return;
    this.signature = viewSignature(this.rt.state);
    this.timer = setInterval(
      () =>
        this.guarded('watch', () => {
          const sig = viewSignature(this.rt.state);
          if (sig !== this.signature) {
            this.signature = sig;
            this.change('state');
          }
        }),
      this.watchMs,
    );
    this.timer.unref();
  }

  private stopWatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  close(): void {
    this.closed = true;
    this.stopWatch();
    if (this.pendingChange) clearTimeout(this.pendingChange);
    // The streams themselves are ended by the controller's EventStreams, which holds every one of them.
    this.clients.clear();
  }
}
