// Exponential backoff with jitter (many agents losing the same controller, or a controller retrying
// many agents, must not retry in lockstep), and an abortable sleep. Shared by agent and controller.

/** Delay before retry number `attempt` (0-based): uniformly in [cap/2, cap], cap = min(max, base·2^attempt). */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** setTimeout as a promise that ends early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
