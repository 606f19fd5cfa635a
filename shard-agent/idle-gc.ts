// Garbage collection once a burst of applies is over. An apply leaves megabytes of garbage (the pushed
// document, its parses, Prometheus's answers); an idle agent allocates almost nothing, so V8 may not
// collect again for a long time, and the garbage and the pages holding it stay in the agent's RSS (in
// bench/agent-rss.ts, 2 runs in 5 ended at 65–69 MB instead of 56–58). Two full collections a second
// after the last apply (the second releases the pages the first emptied; one alone left the heap
// reserved at 13–15 MB instead of 8.5) cost a few milliseconds on a heap of this size, and never run
// while an apply is in progress (docs/agent.md, Memory).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Gap between the two collections: the first one's sweeping is over by then. */
const SECOND_COLLECTION_MS = 500;

/**
 * V8's gc(), made callable at run time: --expose-gc set now applies to contexts created after it, so a
 * new context hands its gc function back. For the agent's own process only (agent-command.ts); tests
 * and the demo run agents inside other processes and leave their collector alone.
 */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export interface IdleCollector {
  /** An apply finished: collect `delayMs` from now, unless another one finishes first. */
  applied(): void;
  stop(): void;
}

export function idleCollector(gc: () => void, busy: () => boolean, delayMs: number): IdleCollector {
  let timer: NodeJS.Timeout | null = null;
  const later = (ms: number, fn: () => void) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
    // Never what keeps the process alive.
    timer.unref();
  };
  const collect = () => {
    if (busy()) return later(delayMs, collect);
    gc();
    later(SECOND_COLLECTION_MS, () => {
      if (!busy()) gc();
    });
  };
  return {
    applied: () => later(delayMs, collect),
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
