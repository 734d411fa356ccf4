/**
 * The demo portal's own limit (`PORTAL_MAX_CONCURRENT`): at most `max` requests are served at
 * once; the others wait their turn in arrival order, as behind a real portal's worker pool. A
 * slot is held for the whole response, latency included. 0: no limit.
 */
export class ConcurrencyLimit {
  #max: number;
  /** Slots held, plus those handed to a waiter that has not resumed yet. */
  #taken = 0;
  #peak = 0;
  #waited = 0;
  readonly #queue: (() => void)[] = [];

  constructor(max = 0) {
    this.#max = Math.max(0, Math.floor(max));
  }

  /** Requests being served now, the most at once so far, how many had to wait and how many wait now. */
  get stats(): { inFlight: number; peak: number; waited: number; waiting: number } {
    return { inFlight: this.#taken, peak: this.#peak, waited: this.#waited, waiting: this.#queue.length };
  }

  setMax(max: number): void {
    this.#max = Math.max(0, Math.floor(max));
    this.#drain();
  }

  /** Resolves with the slot's release once a slot is free; undefined when `signal` aborted first. */
  async acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (signal.aborted) return undefined;
    if (this.#max > 0 && (this.#taken >= this.#max || this.#queue.length > 0)) {
      this.#waited += 1;
      const granted = await new Promise<boolean>((resolve) => {
        const go = (): void => {
          signal.removeEventListener('abort', abort);
          resolve(true);
        };
        const abort = (): void => {
          const at = this.#queue.indexOf(go);
          if (at >= 0) this.#queue.splice(at, 1);
          resolve(false);
        };
        this.#queue.push(go);
        signal.addEventListener('abort', abort, { once: true });
      });
      if (!granted) return undefined;
    } else {
      this.#taken += 1;
    }
    this.#peak = Math.max(this.#peak, this.#taken);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#taken -= 1;
      this.#drain();
    };
  }

  /** Hands free slots to the waiters, oldest first (the slot is taken for them now). */
  #drain(): void {
    while (this.#queue.length > 0 && (this.#max === 0 || this.#taken < this.#max)) {
      this.#taken += 1;
      (this.#queue.shift() as () => void)();
    }
  }
}
