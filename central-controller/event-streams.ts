// The server-sent event streams of both endpoints (/v1/events/stream and /dashboard/events) in one
// place: admission against a per-client and a total bound (429 past either), one live set that the
// controller's close hook walks, and removal of everything a stream holds the moment its connection
// closes. A stream therefore costs nothing once it is gone, however many come and go.
import type { Request, Response } from 'express';
import type { Logger } from '../core/log/logger.ts';
import type { ControllerMetrics } from './controller-metrics.ts';

export type StreamEndpoint = 'api' | 'dashboard';

export interface EventStreamLimits {
  /** Streams open at once over both endpoints. */
  total: number;
  /** Streams open at once from one client (remote address), over both endpoints. */
  perClient: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: Readonly<EventStreamLimits> = Object.freeze({ total: 1000, perClient: 32 });

interface LiveStream {
  endpoint: StreamEndpoint;
  client: string;
  res: Response;
  stop: () => void;
}

export interface AdmittedStream {
  /** Writes unless the connection is already gone (a write after end would raise an unhandled 'error'). */
  write(chunk: string): void;
}

/** One server-sent event as written on the wire (both endpoints frame their events alike). */
export function sseFrame(type: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
export function clientOf(req: Request): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class EventStreams {
  private readonly live = new Set<LiveStream>();
  private readonly perClient = new Map<string, number>();
  private closed = false;

  constructor(
    readonly limits: EventStreamLimits,
    private readonly metrics: ControllerMetrics,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.live.size;
  }

  /** Open streams of one client (tests and the 429 message). */
  openFrom(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /**
   * Admits a stream or answers it (503 closing, 429 over a bound) and returns null. `stop` releases
   * what the stream holds (listeners, timers); it runs exactly once, when the connection closes or
   * the controller does.
   */
  admit(req: Request, res: Response, endpoint: StreamEndpoint, stop: () => void): AdmittedStream | null {
    const client = clientOf(req);
    if (this.closed) {
      this.refuse(res, endpoint, 503, 'the controller is shutting down');
      return null;
    }
    const mine = this.perClient.get(client) ?? 0;
    const over =
      mine >= this.limits.perClient
        ? { reason: 'per-client', message: `too many event streams from ${client}: ${mine} open, at most ${this.limits.perClient} per client (--max-event-streams-per-client); close one and retry` }
        : this.live.size >= this.limits.total
          ? { reason: 'total', message: `too many event streams: ${this.live.size} open, at most ${this.limits.total} in total (--max-event-streams); retry later` }
          : null;
    if (over) {
      this.metrics.eventStreamsRejected.inc({ endpoint, reason: over.reason });
      this.log.warn('event stream refused', { endpoint, client, reason: over.reason });
      this.refuse(res, endpoint, 429, over.message);
      return null;
    }
    const stream: LiveStream = { endpoint, client, res, stop };
    this.live.add(stream);
    this.perClient.set(client, mine + 1);
    this.metrics.eventStreamsOpen.inc({ endpoint });
    // 'close' on the response fires for a client that goes away and for our own end(); a write
    // failing on a reset socket emits 'error', which must not reach the process as uncaught.
    res.once('close', () => this.release(stream));
    res.on('error', (err) => this.log.debug('event stream write failed', { endpoint, client, error: err }));
    return {
      write: (chunk) => {
        if (!res.writableEnded && !res.destroyed) res.write(chunk);
      },
    };
  }

  private release(stream: LiveStream): void {
    if (!this.live.delete(stream)) return;
    const n = (this.perClient.get(stream.client) ?? 1) - 1;
    if (n > 0) this.perClient.set(stream.client, n);
    else this.perClient.delete(stream.client);
    this.metrics.eventStreamsOpen.dec({ endpoint: stream.endpoint });
    try {
      stream.stop();
    } catch (err) {
      this.log.error('releasing an event stream failed', { endpoint: stream.endpoint, error: err });
    }
  }

  private refuse(res: Response, endpoint: StreamEndpoint, status: number, message: string): void {
    res.status(status).setHeader('Retry-After', '5');
    if (endpoint === 'api') res.json({ error: message });
    else res.type('text').send(message + '\n');
  }

  /** Ends every stream (controller shutdown); later requests get 503. */
  closeAll(): void {
    this.closed = true;
    for (const s of [...this.live]) {
      this.release(s);
      s.res.end();
    }
  }
}
