import type { JobsOptions } from 'bullmq';
import type { QueueConfig } from '../config/types.js';
import { DEFAULT_BULL_PRIORITY } from '../lib/scheduling.js';

/**
 * BullMQ options for a job of `queue`: its attempts and exponential backoff (first retry after
 * `backoffMs`, doubling), how long finished jobs are kept (duplicate detection, Bull Board), and
 * the `normal` priority, so a job added without its own still waits behind `alta` ones (in BullMQ
 * a job without priority runs before every prioritized job).
 */
export function jobOptionsFor(
  queue: Pick<QueueConfig, 'attempts' | 'backoffMs'>,
  keepCompletedSeconds: number,
  keepFailedSeconds: number,
): JobsOptions {
  return {
    attempts: queue.attempts,
    priority: DEFAULT_BULL_PRIORITY,
    ...(queue.backoffMs > 0 ? { backoff: { type: 'exponential', delay: queue.backoffMs } } : {}),
    removeOnComplete: { age: keepCompletedSeconds },
    removeOnFail: { age: keepFailedSeconds },
  };
}
