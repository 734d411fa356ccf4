import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import type { QueueConfig } from '../config/types.js';

/** What one sample of a queue shows. */
export interface QueueDepth {
  readonly queue: string;
  /** Items the poller pushed that the bridge has not moved yet. */
  readonly listLength: number;
  readonly waiting: number;
  readonly prioritized: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  readonly completed: number;
  /** listLength + waiting + prioritized: the backlog the scaling rule divides. */
  readonly pending: number;
}

/** Measurement behind an interface (Crawlee's LoadSignal), so the decision is testable with plain objects. */
export interface QueueDepthSource {
  sample(): Promise<QueueDepth[]>;
}

/** Reads list lengths and BullMQ counts from Redis. */
export class RedisQueueDepthSource implements QueueDepthSource {
  constructor(
    private readonly redis: Redis,
    private readonly queues: readonly { config: QueueConfig; queue: Queue }[],
  ) {}

  async sample(): Promise<QueueDepth[]> {
    return Promise.all(
      this.queues.map(async ({ config, queue }) => {
        const [listLength, counts] = await Promise.all([
          this.redis.llen(config.sourceList),
          queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
        ]);
        const n = (k: string): number => counts[k] ?? 0;
        return {
          queue: config.name,
          listLength,
          waiting: n('waiting'),
          prioritized: n('prioritized'),
          active: n('active'),
          delayed: n('delayed'),
          failed: n('failed'),
          completed: n('completed'),
          pending: listLength + n('waiting') + n('prioritized'),
        };
      }),
    );
  }
}
