import type { ServiceEvents, ServiceEventMap } from './events.js';

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
  /** Items the bridge sent to the invalid list (not jobs: not part of the ratios). */
  readonly invalid: number;
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
  readonly outcome: JobFinished['outcome'] | 'invalid';
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
  readonly #onFinished = (info: JobFinished): void => this.#record(info.queue, info.outcome, info.durationMs);
  readonly #onInvalid = (info: ServiceEventMap['invalid'][0]): void => this.#record(info.queue, 'invalid', 0);

  constructor(options: OutcomeWindowOptions) {
    this.#events = options.events;
    this.#keepMs = options.keepMs;
    this.#clock = options.clock ?? Date.now;
  }

  start(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.#events.on('job-finished', this.#onFinished);
    this.#events.on('invalid', this.#onInvalid);
  }

  close(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.#events.off('job-finished', this.#onFinished);
    this.#events.off('invalid', this.#onInvalid);
  }

  #record(queue: string, outcome: Entry['outcome'], durationMs: number): void {
    this.#entries.push({ at: this.#clock(), queue, outcome, durationMs });
    // Bound memory between reads on a busy service.
    if (this.#entries.length > 10_000) this.#prune(this.#clock());
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
    let invalid = 0;
    for (const e of this.#entries) {
      if (e.at < since || (queue !== '' && e.queue !== queue)) continue;
      if (e.outcome === 'ok') ok++;
      else if (e.outcome === 'error') error++;
      else if (e.outcome === 'expired') expired++;
      else if (e.outcome === 'retry') retry++;
      else invalid++;
    }
    return { ok, error, retry, expired, invalid };
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

  /** Queues with job outcomes in the window. */
  queueNames(): string[] {
    this.#prune(this.#clock());
    return [...new Set(this.#entries.filter((e) => e.outcome !== 'invalid').map((e) => e.queue))];
  }

  #prune(now: number): void {
    const cutoff = now - this.#keepMs;
    if (this.#entries.some((e) => e.at < cutoff)) this.#entries = this.#entries.filter((e) => e.at >= cutoff);
  }
}
