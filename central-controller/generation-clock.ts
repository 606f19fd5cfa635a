// The controller's generation counter. Every adopted revision gets a generation above every one issued
// or seen before, whatever git history looks like, so a force-pushed revert rolls out like any commit.
// Agents refuse a lower generation, so the counter must never go back: it is kept in the state
// directory, and recovered from the agents when that is lost. The generations agents run when the
// controller first hears from them form a floor that documents must exceed before they are pushed.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class GenerationClock {
  private issued = 0;
  private seen = 0;
  private floorValue = 0;

  /** `file`: where the last issued generation is kept (null: memory only). */
  constructor(private readonly file: string | null = null) {
    if (!file) return;
    try {
      const persisted = JSON.parse(readFileSync(file, 'utf8')) as { issued?: unknown };
      if (Number.isSafeInteger(persisted.issued) && (persisted.issued as number) > 0) this.issued = persisted.issued as number;
    } catch {
      // Absent or unreadable: the agents' reports are the other source (see observe).
    }
  }

  /** The last generation this controller issued (0 before the first). */
  get current(): number {
    return this.issued;
  }

  /**
   * The highest generation any agent ran when this controller first heard from it. A document at or
   * below it was stamped before the controller knew the fleet (a restart with an empty state
   * directory) and must be stamped again before it is pushed.
   */
  get floor(): number {
    return this.floorValue;
  }

  /**
   * A generation an agent reports. `firstContact` (the first status of that agent since this
   * controller started) raises the floor; later ones, which can come from another controller pushing to
   * the same agent, only make the next revision go above them, so two controllers never outbid each
   * other over a document already issued. Returns true when the floor rose above an issued generation.
   */
  observe(generation: number, firstContact: boolean): boolean {
    if (!Number.isSafeInteger(generation) || generation < 0) return false;
    this.seen = Math.max(this.seen, generation);
    if (!firstContact || generation <= this.floorValue) return false;
    this.floorValue = generation;
    return true;
  }

  /** A new generation, above everything issued, seen or recovered. */
  next(): number {
    this.issued = Math.max(this.issued, this.seen, this.floorValue) + 1;
    this.save();
    return this.issued;
  }

  private save(): void {
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ issued: this.issued }) + '\n');
    renameSync(tmp, this.file);
  }
}
