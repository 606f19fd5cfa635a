// Remembers each (job, metric, label)'s distinct-value count across cycles and counts consecutive
// rises. A rise is a strictly higher count than at the previous observation; an equal or lower count
// ends the streak. A label not observed in a cycle (below the server-side floor) is forgotten, so
// that a label has to rise in consecutive observed cycles.

export interface GrowthState {
  last: number;
  rising: number;
  /** Distinct values when the current streak started. */
  streakStart: number;
}

export class GrowthTracker {
  private readonly states = new Map<string, GrowthState>();

  /** Records this cycle's count and returns the number of consecutive rises, this one included. */
  observe(key: string, distinct: number): GrowthState {
    const prev = this.states.get(key);
    let next: GrowthState;
    if (!prev) next = { last: distinct, rising: 0, streakStart: distinct };
    else if (distinct > prev.last) next = { last: distinct, rising: prev.rising + 1, streakStart: prev.rising ? prev.streakStart : prev.last };
    else next = { last: distinct, rising: 0, streakStart: distinct };
    this.states.set(key, next);
    return next;
  }

  get(key: string): GrowthState | undefined {
    return this.states.get(key);
  }

  /** Forgets every key not in `seen` (call once per complete cycle). */
  retain(seen: ReadonlySet<string>): void {
    for (const k of this.states.keys()) if (!seen.has(k)) this.states.delete(k);
  }

  get size(): number {
    return this.states.size;
  }
}
