// One bound for every call to the Kubernetes API (Lease, Event): a hung API server must not hold the
// elector's renew loop or the event queue past its deadline. The caller names the error, so a Lease
// call can fail with a LeaseApiError and an Event call with a plain Error.

/** `p`, or `timeoutError()` thrown once `ms` pass first; the timer never outlives the call. */
export async function withCallTimeout<T>(p: Promise<T>, ms: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
