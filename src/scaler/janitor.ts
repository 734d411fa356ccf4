import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RedisConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';

export interface JanitorOptions {
  readonly queues: readonly string[];
  readonly redis: RedisConfig;
  readonly logger: Logger;
  /** How often stalled jobs are looked for. */
  readonly stalledIntervalMs: number;
  /** Same value as the worker units', so a job is judged stalled the same way. */
  readonly maxStalledCount: number;
  /** A job went back to waiting: the scaler should look now (the queue may have no worker). */
  readonly onStalled?: (queue: string, jobId: string) => void;
}

/**
 * Keeps BullMQ's stalled-job check running for every queue, even one scaled to zero workers: only
 * Workers run that check, so without this a job whose worker died would stay active forever.
 * One job-less Worker per queue (no processor, never fetches) with its stalled timer started.
 */
export class StalledJanitor {
  readonly #workers: Worker[] = [];
  #connection: Redis | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: JanitorOptions) {}

  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    const { redis, logger } = this.options;
    this.#connection = createRedis(redis, 'blocking', logger, 'janitor');
    for (const queue of this.options.queues) {
      const worker = new Worker(queue, undefined, {
        connection: this.#connection,
        prefix: redis.prefix,
        autorun: false,
        name: `janitor-${queue}`,
        stalledInterval: this.options.stalledIntervalMs,
        maxStalledCount: this.options.maxStalledCount,
      });
      worker.on('error', (err) => logger.debug(`janitor ${queue}: ${err.message}`));
      worker.on('stalled', (jobId) => {
        logger.warn(`job ${jobId} de ${queue} travado (o worker dele morreu): de volta à espera`, { queue });
        this.options.onStalled?.(queue, jobId);
      });
      this.#workers.push(worker);
      await worker.startStalledCheckTimer();
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    await Promise.allSettled(this.#workers.map((w) => w.close(true)));
    this.#connection?.disconnect();
  }
}
