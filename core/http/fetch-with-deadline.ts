// fetch with one deadline covering the answer and its body. A plain AbortController and a ref'd timer
// rather than AbortSignal.any(AbortSignal.timeout()): on Node 20 the combined signal can be collected
// before it fires, and a call to a peer that never answers then never ends (it froze the
// controller's start-up; see docs/operations.md).
//
// Redirects are never followed: both callers send a bearer credential, and an answer of "go to
// another host" must not carry it there (the redirect comes back as the 3xx answer it is).

export class DeadlineExceeded extends Error {}

export async function fetchWithDeadline(url: string, init: RequestInit, timeoutMs: number, cancel?: AbortSignal): Promise<Response> {
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
    return new Response(await res.arrayBuffer(), { status: res.status, statusText: res.statusText, headers: res.headers });
  } catch (err) {
    if (timedOut) throw new DeadlineExceeded(`no answer within ${timeoutMs} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener('abort', onCancel);
  }
}
