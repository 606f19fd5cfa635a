// Reports wait here while the controller is unreachable. The queue is bounded and drops the oldest
// report: the newest status is the one worth delivering, and a slow controller must never hold up
// an apply or grow the agent's memory.

export class DropOldestQueue<T> {
  private items: T[] = [];
  dropped = 0;
  private wake: (() => void) | null = null;

  constructor(readonly capacity: number, private readonly onDrop: (n: number) => void = () => {}) {
    if (capacity < 1) throw new Error('report queue capacity must be at least 1');
  }

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) {
      const n = this.items.length - this.capacity;
      this.items.splice(0, n);
      this.dropped += n;
      this.onDrop(n);
    }
    this.wake?.();
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Removes `item` if it is still at the head (it may have been dropped while being sent). */
  ack(item: T): void {
    if (this.items[0] === item) this.items.shift();
  }

  /** Resolves when an item is available or `signal` aborts. */
  waitForItem(signal: AbortSignal): Promise<void> {
    if (this.items.length || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.wake = null;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
