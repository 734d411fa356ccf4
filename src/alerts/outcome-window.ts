import type { ServiceEvents, ServiceEventMap } from '../service/events.js';

type JobFinished = ServiceEventMap['job-finished'][0];

/** Counts of job attempts that ended inside a time window. */
export interface OutcomeCounts {
  readonly ok: number;
  /** Last attempt failed: the job ended with `status: "error"`. */
  readonly error: number;
  /** Failed attempt that will be tried again. */
  readonly retry: number;
  /** Jobs not run because their deadline had passed. */
  readonly expired: number;
}

/** Options for {@link OutcomeWindow}. */
export interface OutcomeWindowOptions {
  readonly events: ServiceEvents;
  /** Outcomes older than this are forgotten. */
  readonly keepMs: number;
  /** @defaultValue Date.now */
  readonly clock?: () => number;
}

interface Entry {
  readonly at: number;
  readonly queue: string;
  readonly outcome: JobFinished['outcome'];
  readonly durationMs: number;
}

/**
 * The `job-finished` events of the last `keepMs`, so the alerts can compute a failure ratio and
 * the dashboard a completion rate without asking Redis. Attach with {@link start}, detach with
 * {@link close}.
 */
export class OutcomeWindow {
  readonly #events: ServiceEvents;
  readonly #keepMs: number;
  readonly #clock: () => number;
  #entries: Entry[] = [];
  #attached = false;
  readonly #onFinished = (info: JobFinished): void => {
    this.#entries.push({ at: this.#clock(), queue: info.queue, outcome: info.outcome, durationMs: info.durationMs });
    // Bound memory between reads on a busy service.
    if (this.#entries.length > 10_000) this.#prune(this.#clock());
  };

  constructor(options: OutcomeWindowOptions) {
    this.#events = options.events;
    this.#keepMs = options.keepMs;
    this.#clock = options.clock ?? Date.now;
  }

  start(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#events.on('job-finished', this.#onFinished);
  }

  close(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#events.off('job-finished', this.#onFinished);
  }

  /**
   * Outcomes of the last `windowMs` (at most `keepMs`) for `queue`, or for all queues when
   * `queue` is empty. Entries stamped in the future (the clock jumped back) count as recent.
   */
  counts(queue: string, windowMs: number): OutcomeCounts {
    const now = this.#clock();
    this.#prune(now);
    const since = now - Math.min(windowMs, this.#keepMs);
    let ok = 0;
    let error = 0;
    let retry = 0;
    let expired = 0;
    for (const e of this.#entries) {
      if (e.at < since || (queue !== '' && e.queue !== queue)) continue;
      if (e.outcome === 'ok') ok++;
      else if (e.outcome === 'error') error++;
      else if (e.outcome === 'expired') expired++;
      else retry++;
    }
    return { ok, error, retry, expired };
  }

  /** Mean duration of the attempts that ended (ok or error) in the last `windowMs`; null when none. */
  meanDurationMs(queue: string, windowMs: number): number | null {
    const now = this.#clock();
    this.#prune(now);
    const since = now - Math.min(windowMs, this.#keepMs);
    let total = 0;
    let n = 0;
    for (const e of this.#entries) {
      if (e.at < since || (queue !== '' && e.queue !== queue)) continue;
      if (e.outcome !== 'ok' && e.outcome !== 'error') continue;
      total += e.durationMs;
      n++;
    }
    return n === 0 ? null : total / n;
  }

  /** Queues with outcomes in the window. */
  queueNames(): string[] {
    this.#prune(this.#clock());
    return [...new Set(this.#entries.map((e) => e.queue))];
  }

  #prune(now: number): void {
    const cutoff = now - this.#keepMs;
    if (this.#entries.some((e) => e.at < cutoff)) this.#entries = this.#entries.filter((e) => e.at >= cutoff);
  }
}
