/**
 * Turns at something costly (a browser launch): at most `limit()` taken at once, the others wait,
 * the lowest rank first and in the order they asked within a rank (a queue's first unit launches
 * before another queue's third). The limit is read at every grant, so it may follow the machine.
 */
export class Turns {
  readonly #limit: () => number;
  #held = 0;
  readonly #line: { rank: number; grant(release: () => void): void }[] = [];

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

  /**
   * Resolves with this caller's release (idempotent) once it is its turn, or with undefined when
   * `signal` aborts first (it leaves the line; an aborted signal never takes a turn).
   */
  take(signal?: AbortSignal, rank = 0): Promise<(() => void) | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const entry = {
        rank,
        grant: (release: () => void) => {
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

  #pump(): void {
    while (this.#line.length > 0 && this.#held < this.limit) {
      const next = this.#line.shift();
      if (!next) break;
      this.#held += 1;
      let released = false;
      next.grant(() => {
        if (released) return;
        released = true;
        this.#held -= 1;
        this.#pump();
      });
    }
  }
}
