import type { JobsOptions } from 'bullmq';
import type { QueueConfig } from '../config/types.js';
import { DEFAULT_BULL_PRIORITY } from '../lib/scheduling.js';

/** How long finished jobs count and are kept (`jobs.*`, CONTRACT.md "Job payload and identity"). */
export interface Retention {
  /** The duplicate window after a job completed. */
  readonly keepCompletedSeconds: number;
  /** The whole completed job is kept this long (never longer than the window). */
  readonly keepCompletedJobSeconds: number;
  /** A failed job is kept whole this long (it is also its duplicate window). */
  readonly keepFailedSeconds: number;
}

/** Seconds BullMQ keeps a whole completed job: `keepCompletedJobSeconds`, at most the duplicate window. */
export function completedJobAgeSeconds(retention: Retention): number {
  return Math.min(retention.keepCompletedJobSeconds, retention.keepCompletedSeconds);
}

/**
 * True when a completed job's id must outlive the job itself (its whole job lapses before the
 * duplicate window ends): see `completed-ids.ts`.
 */
export function remembersCompletedIds(retention: Retention): boolean {
  return completedJobAgeSeconds(retention) < retention.keepCompletedSeconds;
}

/**
 * BullMQ options for a job of `queue`: its attempts and exponential backoff (first retry after
 * `backoffMs`, doubling), how long finished jobs are kept whole (Bull Board, history; duplicate
 * detection past that is `completed-ids.ts`), and the `normal` priority, so a job added without
 * its own still waits behind `alta` ones (in BullMQ a job without priority runs before every
 * prioritized job).
 */
export function jobOptionsFor(queue: Pick<QueueConfig, 'attempts' | 'backoffMs'>, retention: Retention): JobsOptions {
  return {
    attempts: queue.attempts,
    priority: DEFAULT_BULL_PRIORITY,
    ...(queue.backoffMs > 0 ? { backoff: { type: 'exponential', delay: queue.backoffMs } } : {}),
    removeOnComplete: { age: completedJobAgeSeconds(retention) },
    removeOnFail: { age: retention.keepFailedSeconds },
  };
}
