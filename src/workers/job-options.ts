import type { JobsOptions } from 'bullmq';
import type { QueueConfig } from '../config/types.js';

/**
 * BullMQ options for a job of `queue`: its attempts and exponential backoff (first retry after
 * `backoffMs`, doubling), and how long finished jobs are kept (duplicate detection, Bull Board).
 */
export function jobOptionsFor(
  queue: Pick<QueueConfig, 'attempts' | 'backoffMs'>,
  keepCompletedSeconds: number,
  keepFailedSeconds: number,
): JobsOptions {
  return {
    attempts: queue.attempts,
    ...(queue.backoffMs > 0 ? { backoff: { type: 'exponential', delay: queue.backoffMs } } : {}),
    removeOnComplete: { age: keepCompletedSeconds },
    removeOnFail: { age: keepFailedSeconds },
  };
}
