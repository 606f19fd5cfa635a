// What the controller remembers about resharding, across restarts (`reshards.json` in the state
// directory): the layout each shard last settled on (the "before" of the next change) and the reshards
// in progress, with which moved target was handed over when. Without it, a controller restarted during
// an overlap would forget the old layout and drop the moved targets at once.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SplitLayout } from '../../core/placement/reshard-overlap.ts';

export type ReshardPhase = 'overlap' | 'retiring';

export interface ReshardTarget {
  job: string;
  address: string;
  from: string;
  to: string;
  /** When the controller saw that its new unit had scraped it (or that it is down under both); null while it is kept twice. */
  handedOverAt: string | null;
  how?: 'scraped' | 'down-in-both';
}

export interface Reshard {
  shard: string;
  from: SplitLayout;
  to: SplitLayout;
  phase: ReshardPhase;
  /** The revision that changed the layout (or changed it again). */
  revision: string;
  startedAt: string;
  /** The overlap ends at the latest here (see reshard-coordinator.ts for what happens then). */
  deadlineAt: string;
  /** Static targets that change unit; discovered ones are known only to Prometheus. */
  moved: ReshardTarget[];
  /** Jobs whose targets are discovered: handed over when their new unit has scraped all it lists. */
  discoveryJobs: string[];
  /** Units of the new layout, and `<document hash>@<time>` when one of their replicas first ran their overlap document. */
  unitsProvenAt: Record<string, string | null>;
  /** Units of the old layout only: they get a document that scrapes nothing once the overlap ends. */
  retiring: string[];
  /** What the overlap waits for, in words; null when nothing. */
  waitingFor: string | null;
  handedOverAt: string | null;
  endedAt: string | null;
  /** Set when the bound passed before every moved target was handed over: which ones were not. */
  expired: string | null;
  /**
   * When the bound passed while a new unit had no replica running its document (the overlap then
   * stays). Once every new unit runs it, the bound starts again from then: a unit that just came up
   * has not scraped anything yet.
   */
  overdueAt?: string | null;
}

interface BookFile {
  layouts: Record<string, SplitLayout>;
  active: Record<string, Reshard>;
  recent: Reshard[];
}

const RECENT_KEPT = 20;

export class ReshardBook {
  layouts: Record<string, SplitLayout> = {};
  active: Record<string, Reshard> = {};
  recent: Reshard[] = [];

  constructor(private readonly file: string | null) {
    if (!file) return;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<BookFile>;
      this.layouts = parsed.layouts ?? {};
      this.active = parsed.active ?? {};
      this.recent = parsed.recent ?? [];
    } catch {
      // Absent (first start) or unreadable: the first revision's layouts are taken as settled.
    }
  }

  finish(r: Reshard): void {
    delete this.active[r.shard];
    this.recent.unshift(r);
    this.recent.length = Math.min(this.recent.length, RECENT_KEPT);
  }

  save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ layouts: this.layouts, active: this.active, recent: this.recent } satisfies BookFile) + '\n');
    renameSync(tmp, this.file);
  }
}
