// fetch with one deadline covering the answer and its body. A plain AbortController and a ref'd timer
// rather than AbortSignal.any(AbortSignal.timeout()): on Node 20 the combined signal can be collected
// before it fires, and a call to a peer that never answers then never ends (it froze the
// controller's start-up; see docs/operations.md).
//
// Redirects are never followed: both callers send a bearer credential, and an answer of "go to
// another host" must not carry it there (the redirect comes back as the 3xx answer it is).

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
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    ac.abort();
    throw new BodyTooLarge(`answer of ${declared} bytes is larger than the ${maxBytes} allowed`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        ac.abort();
        throw new BodyTooLarge(`answer is larger than the ${maxBytes} bytes allowed`);
      }
      chunks.push(chunk);
    }
  }
  const all = Buffer.concat(chunks);
  return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
}
