import { describe, expect, it } from 'vitest';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { TEST_DBS, uniqueName } from '../../helpers/redis.js';
import { serviceLifecycle } from '../../helpers/service-lifecycle.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// A queue's rateLimit is BullMQ's Worker limiter: it holds across the queue's units. This file owns
// Redis database 12 and names its keys with a random prefix, deleted after.
const DB = TEST_DBS.rateLimit;
const prefix = uniqueName('rate');
const ctx = serviceLifecycle(DB, [`${prefix}*`, 'rpa:*']);

describe('rateLimit per queue (BullMQ limiter, across units)', () => {
  it('3 units start no more than 2 jobs per second between them', async () => {
    const results = `${prefix}:fila:resultado`;
    const config = serviceConfig(
      {
        queues: {
          limitada: {
            flow: 'echo',
            sourceList: `${prefix}:fila:limitada`,
            resultList: results,
            minWorkers: 3,
            maxWorkers: 3,
            rateLimit: { max: 2, durationMs: 1000 },
          },
        },
        redis: { prefix },
      },
      { REDIS_DB: String(DB) },
    );
    const service = new Service({ config, logger: memoryLogger('info').logger });
    ctx.service = service;
    await service.start();
    await ctx.redis.rpush(
      `${prefix}:fila:limitada`,
      ...Array.from({ length: 6 }, (_, i) => JSON.stringify({ id: `r-${i}` })),
    );
    await waitFor(async () => (await ctx.redis.llen(results)) === 6, { timeoutMs: 60_000, what: '6 results' });
    const starts = (await ctx.redis.lrange(results, 0, -1))
      .map((e) => Date.parse((JSON.parse(e) as { startedAt: string }).startedAt))
      .sort((a, b) => a - b);
    // 6 jobs at 2 per second take at least two more windows after the first: never quicker.
    expect((starts.at(-1) ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(1900);
  }, 120_000);
});
