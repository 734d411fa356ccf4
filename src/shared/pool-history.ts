/**
 * The pool's history as its readers see it (the dashboard, the alerts, the deadline estimate):
 * what every instance of the pool counted, summed, from Redis (src/history/ writes and reads it).
 */

/** Job outcomes of the whole pool over a window. */
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
  /** Mean time of the attempts that ran (ok, error, retry); null when none. */
  readonly meanDurationMs: number | null;
}

export const NO_OUTCOMES: OutcomeCounts = { ok: 0, error: 0, retry: 0, expired: 0, invalid: 0, meanDurationMs: null };

/** One time bucket of one queue, over every instance of the pool. */
export interface HistoryPoint {
  /** Start of the bucket, ms since epoch; it lasts the series' `stepMs`. */
  readonly at: number;
  /** Jobs completed (outcome ok). */
  readonly completed: number;
  /** Attempts that failed: jobs ended in error plus attempts to be retried. */
  readonly failed: number;
  /** Of `failed`, the attempts to be retried. */
  readonly retried: number;
  /** Jobs not run because their deadline had passed. */
  readonly expired: number;
  /** Items sent to the invalid list. */
  readonly invalid: number;
  /** Job-time percentiles of the attempts that ran in the bucket, ms (from a merged histogram). */
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Pending jobs at the end of the bucket (as last reported) and the most reported in it. */
  readonly pending: number;
  readonly pendingMax: number;
  /** Worker units at the end of the bucket (every instance's last report, summed) and the peak. */
  readonly workers: number;
  readonly workersMax: number;
}

/** One instance's share of a queue's work in a window. */
export interface InstanceShare {
  readonly completed: number;
  readonly failed: number;
}

/** A queue's history in a window. */
export interface QueueHistorySeries {
  /** Buckets with something recorded, oldest first. */
  readonly points: readonly HistoryPoint[];
  /** Per instance id: what it did in the window (every run of that id together). */
  readonly instances: Readonly<Record<string, InstanceShare>>;
}

/** The history of every queue in a window, at one bucket size. */
export interface HistorySeries {
  /** The bucket size: 1 min for up to ~3 h, 10 min for up to ~33 h, 1 h beyond. */
  readonly stepMs: number;
  readonly queues: Readonly<Record<string, QueueHistorySeries>>;
}

/** Where the pool's history is read from (the service wires the Redis one). */
export interface PoolHistorySource {
  /** Every configured queue's buckets that overlap `[sinceMs, untilMs]`. */
  series(sinceMs: number, untilMs: number): Promise<HistorySeries>;
  /**
   * Outcomes of the last `windowMs` per queue, and under `''` all queues together. Counted per
   * minute: a minute the window covers in part counts in proportion.
   */
  outcomes(windowMs: number): Promise<Readonly<Record<string, OutcomeCounts>>>;
  /** Per queue, the longest a bridge of the pool reports being stuck now, seconds (0: it moves). */
  bridgeStuckSeconds(): Promise<Readonly<Record<string, number>>>;
}
