// Applies run one at a time. A document that arrives while one is running waits; if another arrives
// before it starts, the waiting one is answered "superseded" and only the newest waits, because
// applying an intermediate configuration that is already out of date would only cost a reload.
// Maintenance work (verifying a written-unverified apply) takes turns with applies but never
// supersedes or is superseded.

export const SUPERSEDED = Symbol('superseded');

interface Waiting<T, R> {
  item: T;
  resolve: (r: R | typeof SUPERSEDED) => void;
  reject: (e: unknown) => void;
}

export class ApplyQueue<T, R> {
  private waiting: Waiting<T, R> | null = null;
  private chores: { run: () => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  constructor(
    private readonly worker: (item: T) => Promise<R>,
    private readonly onSuperseded: (item: T, by: T) => void = () => {},
  ) {}

  get running(): boolean {
    return this.busy;
  }

  submit(item: T): Promise<R | typeof SUPERSEDED> {
    return new Promise((resolve, reject) => {
      if (this.waiting) {
        this.onSuperseded(this.waiting.item, item);
        this.waiting.resolve(SUPERSEDED);
      }
      this.waiting = { item, resolve, reject };
      void this.pump();
    });
  }

  /** Runs `fn` exclusively, after the apply in progress. */
  exclusive<X>(fn: () => Promise<X>): Promise<X> {
    return new Promise<X>((resolve, reject) => {
      this.chores.push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
      void this.pump();
    });
  }

  /** Resolves once nothing runs or waits. */
  async idle(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.waiting || this.chores.length) {
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = null;
          try {
            w.resolve(await this.worker(w.item));
          } catch (err) {
            w.reject(err);
          }
        } else {
          const c = this.chores.shift()!;
          try {
            c.resolve(await c.run());
          } catch (err) {
            c.reject(err);
          }
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
