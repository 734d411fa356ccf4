/**
 * BullMQ job options for bridged jobs: attempts and exponential backoff from the queue's config,
 * finished-job retention from `jobs.keepCompletedSeconds` / `keepFailedSeconds`.
 *
 * Retention matters for identity: a payload `id` is recognised as a duplicate only while the first
 * job with that id is still kept.
 *
 * Same signature as the `jobOptionsFor` planned in src/workers/job-options.ts; this copy exists
 * because that module was not written when the bridge needed it. Replace the import once it is.
 */
import type { JobsOptions } from 'bullmq';
import type { QueueConfig } from '../config/types.js';

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
