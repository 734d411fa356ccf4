/**
 * The default bridge id is the instance id (host name and pid): a restarted process comes back
 * under a new one. What the old process left in its processing list must still become jobs.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

describe('bridge: a process restarted under a new default id', () => {
  const queue = uniqueName('restart');
  const results = `fila:${queue}:resultado`;
  // Its own BullMQ prefix and source lists for the default queues: nothing shared with other tests.
  const prefix = queue;
  const redis = new Redis(sharedRedisConfig());
  let service: Service | undefined;
  afterAll(async () => {
    await service?.stop();
    await deleteKeys(redis, `*${queue}*`);
    redis.disconnect();
  });

  it('loses nothing: the old id’s processing list is taken over by the new process', async () => {
    // The process before the restart: default ids (its instance id), one batch taken, then killed.
    const oldId = `host-a-${process.pid + 1}`;
    const config = serviceConfig(
      {
        redis: { prefix },
        queues: {
          conferencia: { flow: 'echo', sourceList: `${queue}:conferencia`, resultList: results },
          emissao: { flow: 'echo', sourceList: `${queue}:emissao`, resultList: results },
          [queue]: { flow: 'echo', resultList: results },
        },
      },
      { INSTANCE_ID: `host-a-${process.pid + 2}` },
    );
    expect(config.bridge.id).toBe(config.instance.id);
    const membership = new PoolMembership({
      redis,
      prefix,
      queues: config.queues.map((q) => q.name),
      ttlMs: 300,
    });
    await membership.join(
      {
        id: oldId,
        bridgeId: oldId,
        host: 'host-a',
        version: 'v',
        pid: process.pid + 1,
        capacity: 20,
        units: {},
        beatAt: Date.now(),
        startedAt: Date.now(),
      },
      { maxTotalWorkers: 20, maxWorkers: Object.fromEntries(config.queues.map((q) => [q.name, 10])) },
    );
    await redis.set(`${prefix}:${queue}:id`, 2);
    await redis.rpush(
      `fila:${queue}:processing:${oldId}`,
      ...[1, 2].map((n) => `${n}|${JSON.stringify({ id: `item-${n}` })}`),
    );
    await redis.rpush(`fila:${queue}`, JSON.stringify({ id: 'item-3' }));

    service = new Service({ config, logger: memoryLogger('warn').logger });
    await service.start();
    await waitFor(async () => (await redis.llen(results)) >= 3, { timeoutMs: 60_000, what: '3 results' });
    const ids = (await redis.lrange(results, 0, -1)).map((r) => (JSON.parse(r) as { id: string }).id).sort();
    expect(ids).toEqual(['item-1', 'item-2', 'item-3']);
    expect(await redis.llen(`fila:${queue}:processing:${oldId}`)).toBe(0);
    await waitFor(async () => !(await membership.orphanedBridges()).includes(oldId), { what: 'the old id forgotten' });
  });
});
