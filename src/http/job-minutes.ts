import type { ServiceEvents, ServiceEventMap } from '../shared/events.js';

type JobFinished = ServiceEventMap['job-finished'][0];

/** One minute of one queue: attempts that ended in it and their job times. */
export interface MinutePoint {
  /** Start of the minute, ms since epoch. */
  readonly at: number;
  /** Jobs completed (outcome ok). */
  readonly completed: number;
  /** Attempts that failed (last attempt or to be retried). */
  readonly failed: number;
  /** Job-time percentiles of the attempts that ended in this minute, ms. */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
}

/** Options for {@link JobMinutes}. */
export interface JobMinutesOptions {
  readonly events: ServiceEvents;
  /** Minutes older than this are forgotten. @defaultValue 86_400_000 (24 h) */
  readonly keepMs?: number;
  /** Job times kept per queue and minute for the percentiles (a uniform sample beyond). @defaultValue 300 */
  readonly samplesPerMinute?: number;
  /** @defaultValue Date.now */
  readonly clock?: () => number;
  /** For the sample; @defaultValue Math.random */
  readonly random?: () => number;
}

interface Bucket {
  completed: number;
  failed: number;
  seen: number;
  readonly durations: number[];
}

const MINUTE_MS = 60_000;

/** The value at quantile `q` (0..1) of sorted `values` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

/**
 * Completions, failures and job-time percentiles per queue and minute, from the `job-finished`
 * events of this process, for the dashboard's charts. Kept in memory for `keepMs` (a restart
 * starts the series again; the decision history lives in Redis). Attach with {@link start}.
 */
export class JobMinutes {
  readonly #events: ServiceEvents;
  readonly #keepMs: number;
  readonly #samples: number;
  readonly #clock: () => number;
  readonly #random: () => number;
  /** queue → minute start → bucket */
  readonly #series = new Map<string, Map<number, Bucket>>();
  #attached = false;
  readonly #onFinished = (info: JobFinished): void => this.record(info, this.#clock());

  constructor(options: JobMinutesOptions) {
    this.#events = options.events;
    this.#keepMs = options.keepMs ?? 86_400_000;
    this.#samples = options.samplesPerMinute ?? 300;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
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

  /** Counts one finished attempt at `at`. */
  record(info: JobFinished, at: number): void {
    const minute = Math.floor(at / MINUTE_MS) * MINUTE_MS;
    let series = this.#series.get(info.queue);
    if (!series) {
      series = new Map();
      this.#series.set(info.queue, series);
    }
    let bucket = series.get(minute);
    if (!bucket) {
      bucket = { completed: 0, failed: 0, seen: 0, durations: [] };
      series.set(minute, bucket);
      this.#prune(at);
    }
    if (info.outcome === 'ok') bucket.completed++;
    else bucket.failed++;
    // Reservoir sample: every attempt of the minute has the same chance to be kept.
    bucket.seen++;
    if (bucket.durations.length < this.#samples) bucket.durations.push(info.durationMs);
    else {
      const slot = Math.floor(this.#random() * bucket.seen);
      if (slot < this.#samples) bucket.durations[slot] = info.durationMs;
    }
  }

  /** The minutes of `queue` from `sinceMs` on, oldest first; minutes without attempts are left out. */
  points(queue: string, sinceMs: number): MinutePoint[] {
    this.#prune(this.#clock());
    const series = this.#series.get(queue);
    if (!series) return [];
    const out: MinutePoint[] = [];
    for (const [at, b] of [...series].sort((x, y) => x[0] - y[0])) {
      if (at + MINUTE_MS <= sinceMs) continue;
      const sorted = [...b.durations].sort((x, y) => x - y);
      out.push({
        at,
        completed: b.completed,
        failed: b.failed,
        p50Ms: quantile(sorted, 0.5),
        p90Ms: quantile(sorted, 0.9),
        p99Ms: quantile(sorted, 0.99),
      });
    }
    return out;
  }

  /** Queues with any minute kept. */
  queueNames(): string[] {
    return [...this.#series.keys()];
  }

  #prune(now: number): void {
    const cutoff = now - this.#keepMs;
    for (const series of this.#series.values()) {
      for (const at of series.keys()) if (at + MINUTE_MS <= cutoff) series.delete(at);
    }
  }
}
