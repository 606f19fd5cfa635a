// fetch with one deadline covering the answer and its body. A plain AbortController and a ref'd timer
// rather than AbortSignal.any(AbortSignal.timeout()): on Node 20 the combined signal can be collected
// before it fires, and a call to a peer that never answers then never ends (it froze the
// controller's start-up; see docs/operations.md).
//
// Redirects are never followed: both callers send a bearer credential, and an answer of "go to
// another host" must not carry it there (the redirect comes back as the 3xx answer it is).

import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export class DeadlineExceeded extends Error {}

/** The answer's body was longer than the caller allows; the rest of it was not read. */
export class BodyTooLarge extends Error {}

export async function fetchWithDeadline(url: string, init: RequestInit, timeoutMs: number, cancel?: AbortSignal, maxBytes?: number): Promise<Response> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  const onCancel = () => ac.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  try {
    const res = await fetch(url, { ...init, redirect: 'manual', signal: ac.signal });
    const body = maxBytes === undefined ? await res.arrayBuffer() : await readAtMost(res, maxBytes, ac);
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  } catch (err) {
    if (err instanceof BodyTooLarge) throw err;
    if (timedOut) throw new DeadlineExceeded(`no answer within ${timeoutMs} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
}

/** Reads the body up to `maxBytes`; past it, stops reading (aborting the request) instead of buffering a peer's flood. */
async function readAtMost(res: Response, maxBytes: number, ac: AbortController): Promise<ArrayBuffer> {
  const declared = declaredTooLarge(res.headers.get('content-length'), maxBytes);
  if (declared) {
    ac.abort();
    throw declared;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        ac.abort();
        throw readTooLarge(maxBytes);
      }
      chunks.push(chunk);
    }
  }
  const all = Buffer.concat(chunks);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}

// Both transports refuse a body the same way: on its declared length before reading, or once reading passes the limit.
function declaredTooLarge(contentLength: string | null | undefined, maxBytes: number): BodyTooLarge | undefined {
  const declared = Number(contentLength);
  return Number.isFinite(declared) && declared > maxBytes ? new BodyTooLarge(`answer of ${declared} bytes is larger than the ${maxBytes} allowed`) : undefined;
}

function readTooLarge(maxBytes: number): BodyTooLarge {
  return new BodyTooLarge(`answer is larger than the ${maxBytes} bytes allowed`);
}

/** An answer read whole (requestWithDeadline). */
export interface BufferedAnswer {
  status: number;
  ok: boolean;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Throws on a body that is not JSON. */
  json(): unknown;
}

// The controller's calls to its agents (hundreds of peers, thousands of calls a minute) go through
// node:http rather than fetch: undici's fetch costs about four times the CPU per call (web streams,
// Request/Response objects, an AbortSignal each), and pushing to 400 agents on 2 cores is CPU-bound
// (bench/fan-out.ts). Connections are kept alive, one pool per agent; Node drops an idle one before
// the agent's own keep-alive timeout from its `Keep-Alive: timeout=` hint.
const httpAgent = new HttpAgent({ keepAlive: true, maxFreeSockets: 4 });
// node:https (and TLS with it) is loaded on the first https: URL only: the agent talks plain HTTP on
// loopback to its Prometheus, and loading TLS it never uses cost it about 1 MB of RSS.
let https: Promise<{ request: typeof httpRequest; agent: HttpAgent }> | null = null;
const loadHttps = () => (https ??= import('node:https').then((m) => ({ request: m.request as unknown as typeof httpRequest, agent: new m.Agent({ keepAlive: true, maxFreeSockets: 4 }) })));

/** What requestWithDeadline sends. */
export interface DeadlineRequestInit {
  method: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * The body is handed to this chunk by chunk instead of being buffered (the answer's `body` is then
   * empty); returning true stops reading there, for an answer whose start is all the caller needs
   * (Prometheus's /metrics). A connection left mid-body is closed, not reused.
   */
  consume?: (chunk: Buffer) => boolean | void;
}

/** A kept-alive connection the peer had closed before our request reached it: nothing was sent, so it is sent again. */
class StaleConnection extends Error {}

/**
 * The same contract as fetchWithDeadline (one deadline over the answer and its body, redirects not
 * followed, the body bounded by `maxBytes`, `cancel` aborting it), on node:http.
 */
export async function requestWithDeadline(url: string, init: DeadlineRequestInit, timeoutMs: number, cancel?: AbortSignal, maxBytes = Number.POSITIVE_INFINITY): Promise<BufferedAnswer> {
  const deadline = Date.now() + timeoutMs;
  const tls = new URL(url).protocol === 'https:' ? await loadHttps() : null;
  try {
    return await requestOnce(url, init, tls, timeoutMs, timeoutMs, cancel, maxBytes);
  } catch (err) {
    if (!(err instanceof StaleConnection)) throw err;
    return requestOnce(url, init, tls, Math.max(1, deadline - Date.now()), timeoutMs, cancel, maxBytes);
  }
}

function requestOnce(url: string, init: DeadlineRequestInit, tls: { request: typeof httpRequest; agent: HttpAgent } | null, timeoutMs: number, reportedMs: number, cancel: AbortSignal | undefined, maxBytes: number): Promise<BufferedAnswer> {
  return new Promise((resolve, reject) => {
    if (cancel?.aborted) return reject(new Error('the call was cancelled'));
    const target = new URL(url);
    const headers: Record<string, string> = { ...init.headers };
    if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
    let settled = false;
    let answered = false;
    const finish = (err: Error | null, value?: BufferedAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value!);
    };
    const timer = setTimeout(() => finish(new DeadlineExceeded(`no answer within ${reportedMs} ms`)), timeoutMs);
    const onCancel = () => finish(new Error('the call was cancelled'));
    cancel?.addEventListener('abort', onCancel, { once: true });
    const req = (tls ? tls.request : httpRequest)(target, { method: init.method, headers, agent: tls ? tls.agent : httpAgent }, (res) => {
      answered = true;
      const declared = declaredTooLarge(res.headers['content-length'], maxBytes);
      if (declared) return finish(declared);
      const chunks: Buffer[] = [];
      let size = 0;
      const answer = (): BufferedAnswer => {
        const body = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        return { status, ok: status >= 200 && status < 300, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) as unknown };
      };
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > maxBytes) return finish(readTooLarge(maxBytes));
        if (!init.consume) return void chunks.push(chunk);
        let enough: boolean | void;
        try {
          enough = init.consume(chunk);
        } catch (err) {
          return finish(err as Error);
        }
        if (enough === true) {
          // Resolved first, so that destroying the request below is not reported as an error.
          finish(null, answer());
          req.destroy();
        }
      });
      res.on('end', () => finish(null, answer()));
      res.on('error', (err) => finish(err));
      res.on('close', () => finish(new Error('the connection closed before the answer ended')));
    });
    req.on('error', (err: Error & { code?: string }) => finish(!answered && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? new StaleConnection(err.message) : err));
    req.end(init.body);
  });
}
