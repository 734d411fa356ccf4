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
  /**
   * Delayed jobs (`executarApos`, retry backoff) whose time has come. BullMQ moves them to
   * waiting only when a Worker fetches, so a queue at zero workers must count them itself.
   */
  readonly dueDelayed: number;
  /** When the next delayed job not yet due comes due (ms since epoch); null when none. */
  readonly nextDueAt: number | null;
  /** listLength + waiting + prioritized + dueDelayed: the backlog the scaling rule divides. */
  readonly pending: number;
}

/** BullMQ 6 scores a delayed job `dueAtMs * 0x1000 + n`. */
const DELAYED_SCORE_FACTOR = 0x1000;

/** Measurement behind an interface (Crawlee's LoadSignal), so the decision is testable with plain objects. */
export interface QueueDepthSource {
  sample(): Promise<QueueDepth[]>;
}

/** Reads list lengths and BullMQ counts from Redis. */
export class RedisQueueDepthSource implements QueueDepthSource {
  constructor(
    private readonly redis: Redis,
    private readonly queues: readonly { config: QueueConfig; queue: Queue }[],
    private readonly clock: () => number = Date.now,
  ) {}

  async sample(): Promise<QueueDepth[]> {
    return Promise.all(
      this.queues.map(async ({ config, queue }) => {
        const delayedKey = queue.toKey('delayed');
        const dueScore = (this.clock() + 1) * DELAYED_SCORE_FACTOR - 1;
        const [listLength, counts, dueDelayed, next] = await Promise.all([
          this.redis.llen(config.sourceList),
          queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'),
          this.redis.zcount(delayedKey, 0, dueScore),
          this.redis.zrangebyscore(delayedKey, `(${dueScore}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
        ]);
        const n = (k: string): number => counts[k] ?? 0;
        const nextScore = next[1];
        return {
          queue: config.name,
          listLength,
          waiting: n('waiting'),
          prioritized: n('prioritized'),
          active: n('active'),
          delayed: n('delayed'),
          failed: n('failed'),
          completed: n('completed'),
          dueDelayed,
          nextDueAt: nextScore === undefined ? null : Math.floor(Number(nextScore) / DELAYED_SCORE_FACTOR),
          pending: listLength + n('waiting') + n('prioritized') + dueDelayed,
        };
      }),
    );
  }
}
