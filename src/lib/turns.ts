/**
 * Turns at something costly (a browser launch): at most `limit()` taken at once, the others wait,
 * the lowest rank first and in the order they asked within a rank (a queue's first unit launches
 * before another queue's third). The limit is read at every grant, so it may follow the machine.
 *
 * A group of callers (a queue) can be paused (while the machine has no room: a launch would take
 * CPU from the units at work, and the capacity bound may yet retire the waiting unit); a paused
 * group's callers wait while others pass them. A caller alone in its group (a queue none of whose
 * units works or launches yet) goes even then, so every queue gets its first unit, as the
 * decision's start gate does.
 */

/** One caller's place in line. */
export interface TurnRequest {
  /** Aborting leaves the line with no turn. */
  readonly signal?: AbortSignal;
  /** Lower goes first; equal ranks in the order asked. @defaultValue 0 */
  readonly rank?: number;
  /** Callers of one group (a queue); a pause lets in one whose group holds no turn and is {@link alone}. */
  readonly group?: string;
  /** True while nothing else of the caller's group runs (read at each grant while paused); absent: never. */
  readonly alone?: () => boolean;
}

interface Entry {
  readonly rank: number;
  readonly group: string | undefined;
  readonly alone: (() => boolean) | undefined;
  grant(release: () => void): void;
}

export class Turns {
  readonly #limit: () => number;
  #paused: (group: string | undefined) => boolean = () => false;
  #held = 0;
  readonly #heldBy = new Map<string, number>();
  readonly #line: Entry[] = [];

  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** Turns that may be taken at once now (at least one). */
  get limit(): number {
    return Math.max(1, this.#limit());
  }

  /** Turns taken and not released. */
  get held(): number {
    return this.#held;
  }

  /** Callers waiting for a turn. */
  get waiting(): number {
    return this.#line.length;
  }

  /** True while callers wait although a turn is free: their groups are paused. */
  get paused(): boolean {
    return this.#line.length > 0 && this.#held < this.limit;
  }

  /**
   * A group's callers wait while `paused(group)` returns true; it is read at each grant, and
   * {@link recheck} must be called when it may have turned false.
   */
  pauseWhile(paused: (group: string | undefined) => boolean): void {
    this.#paused = paused;
    this.#pump();
  }

  /** Looks at the line again (the pause may have lifted). */
  recheck(): void {
    this.#pump();
  }

  /**
   * Resolves with this caller's release (idempotent) once it is its turn, or with undefined when
   * `signal` aborts first (it leaves the line; an aborted signal never takes a turn).
   */
  take(request: TurnRequest = {}): Promise<(() => void) | undefined> {
    const { signal, rank = 0 } = request;
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const entry: Entry = {
        rank,
        group: request.group,
        alone: request.alone,
        grant: (release) => {
          signal?.removeEventListener('abort', leave);
          resolve(release);
        },
      };
      const leave = (): void => {
        const at = this.#line.indexOf(entry);
        if (at >= 0) this.#line.splice(at, 1);
        resolve(undefined);
      };
      signal?.addEventListener('abort', leave, { once: true });
      const after = this.#line.findIndex((e) => e.rank > rank);
      this.#line.splice(after < 0 ? this.#line.length : after, 0, entry);
      this.#pump();
    });
  }

  /** May this entry go in now (a turn is free)? */
  #goes(e: Entry): boolean {
    if (!this.#paused(e.group)) return true;
    if (e.group === undefined || !e.alone) return false;
    return (this.#heldBy.get(e.group) ?? 0) === 0 && e.alone();
  }

  #pump(): void {
    while (this.#line.length > 0 && this.#held < this.limit) {
      const at = this.#line.findIndex((e) => this.#goes(e));
      if (at < 0) break;
      const [next] = this.#line.splice(at, 1);
      if (!next) break;
      this.#hold(next.group, 1);
      let released = false;
      next.grant(() => {
        if (released) return;
        released = true;
        this.#hold(next.group, -1);
        this.#pump();
      });
    }
  }

  #hold(group: string | undefined, by: number): void {
    this.#held += by;
    if (group === undefined) return;
    const n = (this.#heldBy.get(group) ?? 0) + by;
    if (n > 0) this.#heldBy.set(group, n);
    else this.#heldBy.delete(group);
  }
}
