/**
 * A dead instance's bridge left a batch in its processing list: a live instance of the pool takes
 * it over (one at a time) and bridges it as a replay, so every item becomes exactly one job.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// The cluster tests' database (names are unique per test).
const DB = 4;

describe('bridge takeover', () => {
  const queue = uniqueName('adopt');
  const results = `${queue}:resultado`;
  const redis = new Redis({ ...sharedRedisConfig(), db: DB });
  let service: Service | undefined;

  afterAll(async () => {
    await service?.stop();
    await deleteKeys(redis, `*${queue}*`);
    redis.disconnect();
  });

  it('bridges the batch a dead instance left in its processing list, each item once, and forgets that bridge', async () => {
    const membership = new PoolMembership({
      redis,
      prefix: 'bull',
      queues: ['conferencia', 'emissao', queue],
      ttlMs: 300,
    });
    // maq-morta took three items (sequence numbers 1..3 from the queue's id counter), then died.
    await redis.set(`bull:${queue}:id`, 3);
    await redis.rpush(
      `fila:${queue}:processing:ponte-morta`,
      ...[1, 2, 3].map((n) => `${n}|${JSON.stringify({ id: `item-${n}` })}`),
    );
    await membership.beat({
      id: 'maq-morta',
      bridgeId: 'ponte-morta',
      host: 'h',
      version: 'v',
      pid: 1,
      capacity: 20,
      units: {},
      beatAt: Date.now(),
      startedAt: Date.now(),
    });
    await waitFor(async () => (await membership.orphanedBridges()).includes('ponte-morta'), {
      what: 'maq-morta dead',
    });
    // A later item of the same list, taken by the live instance's own bridge.
    await redis.rpush(`fila:${queue}`, JSON.stringify({ id: 'item-4' }));

    const { logger, lines } = memoryLogger('info');
    const config = serviceConfig(
      { queues: { [queue]: { flow: 'echo', resultList: results } } },
      { REDIS_DB: String(DB), INSTANCE_ID: 'maq-viva', BRIDGE_ID: uniqueName('ponte') },
    );
    service = new Service({ config, logger });
    await service.start();

    await waitFor(async () => (await redis.llen(results)) >= 4, { timeoutMs: 60_000, what: '4 results' });
    const ids = (await redis.lrange(results, 0, -1)).map((r) => (JSON.parse(r) as { id: string }).id).sort();
    expect(ids).toEqual(['item-1', 'item-2', 'item-3', 'item-4']);
    expect(await redis.llen(`fila:${queue}:processing:ponte-morta`)).toBe(0);
    expect(lines.some((l) => /ponte ponte-morta \(instância morta\): 3 item\(s\) retomado\(s\)/.test(l.message))).toBe(
      true,
    );
    await waitFor(async () => !(await membership.orphanedBridges()).includes('ponte-morta'), {
      what: 'the dead bridge forgotten',
    });
  });
});
