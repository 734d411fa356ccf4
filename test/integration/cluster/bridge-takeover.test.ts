/**
 * A dead instance's bridge left a batch in its processing list: a live instance of the pool takes
 * it over (one at a time) and bridges it as a replay, so every item becomes exactly one job.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, sharedRedisConfig, uniqueName, TEST_DBS } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// The cluster tests' database; each test has its own prefix (one pool per prefix and queue set).
const DB = TEST_DBS.multiInstance;

describe('bridge takeover', () => {
  const queue = uniqueName('adopt');
  const prefix = uniqueName('adoptprefix');
  const results = `${queue}:resultado`;
  const redis = new Redis({ ...sharedRedisConfig(), db: DB });
  let service: Service | undefined;

  afterAll(async () => {
    await service?.stop();
    await deleteKeys(redis, `*${queue}*`);
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  it('bridges the batch a dead instance left in its processing list, each item once, and forgets that bridge', async () => {
    const membership = new PoolMembership({
      redis,
      prefix,
      queues: ['conferencia', 'emissao', queue],
      ttlMs: 300,
    });
    // maq-morta took three items (sequence numbers 1..3 from the queue's id counter), then died.
    await redis.set(`${prefix}:${queue}:id`, 3);
    await redis.rpush(
      `fila:${queue}:processing:ponte-morta`,
      ...[1, 2, 3].map((n) => `${n}|${JSON.stringify({ id: `item-${n}` })}`),
    );
    await membership.join(
      {
        id: 'maq-morta',
        bridgeId: 'ponte-morta',
        host: 'h',
        version: 'v',
        pid: 1,
        capacity: 20,
        units: {},
        beatAt: Date.now(),
        startedAt: Date.now(),
      },
      { maxTotalWorkers: 20, maxWorkers: { conferencia: 10, emissao: 10, [queue]: 10 } },
    );
    await waitFor(async () => (await membership.orphanedBridges()).includes('ponte-morta'), {
      what: 'maq-morta dead',
    });
    // A later item of the same list, taken by the live instance's own bridge.
    await redis.rpush(`fila:${queue}`, JSON.stringify({ id: 'item-4' }));

    const { logger, lines } = memoryLogger('info');
    const config = serviceConfig(
      { queues: { [queue]: { flow: 'echo', resultList: results } } },
      { REDIS_DB: String(DB), REDIS_PREFIX: prefix, INSTANCE_ID: 'maq-viva', BRIDGE_ID: uniqueName('ponte') },
    );
    service = new Service({ config, logger });
    await service.start();

    await waitFor(async () => (await redis.llen(results)) >= 4, { timeoutMs: 60_000, what: '4 results' });
    const ids = (await redis.lrange(results, 0, -1)).map((r) => (JSON.parse(r) as { id: string }).id).sort();
    expect(ids).toEqual(['item-1', 'item-2', 'item-3', 'item-4']);
    expect(await redis.llen(`fila:${queue}:processing:ponte-morta`)).toBe(0);
    // Logged once every queue's leftovers are back, which may be after the first results: wait for it.
    await waitFor(
      () =>
        lines.some((l) => /ponte ponte-morta \(instância morta\): 3 item\(s\) retomado\(s\)/.test(l.message)) ||
        undefined,
      { what: 'the takeover line' },
    );
    await waitFor(async () => !(await membership.orphanedBridges()).includes('ponte-morta'), {
      what: 'the dead bridge forgotten',
    });
  });

  it('lets one bridge per source list take from it at a time; another takes over when it stops', async () => {
    const list = uniqueName('lease');
    const make = async (id: string) => {
      const config = serviceConfig(
        { queues: { [list]: { flow: 'echo', resultList: `${list}:resultado` } } },
        { REDIS_DB: String(DB), REDIS_PREFIX: list, INSTANCE_ID: id, BRIDGE_ID: `${list}-${id}` },
      );
      const s = new Service({ config, logger: memoryLogger('warn').logger });
      const moved = { n: 0 };
      s.events.on('bridged', ({ count }) => (moved.n += count));
      await s.start();
      return { s, moved };
    };
    const a = await make('maq-a');
    const b = await make('maq-b');
    try {
      const push = (from: number, n: number) =>
        redis.rpush(`fila:${list}`, ...Array.from({ length: n }, (_, i) => JSON.stringify({ id: `x-${from + i}` })));
      for (let i = 0; i < 5; i++) await push(i * 20, 20);
      await waitFor(async () => (await redis.llen(`${list}:resultado`)) >= 100, {
        timeoutMs: 60_000,
        what: '100 results',
      });
      // Every item went through the lease holder's bridge.
      expect([a.moved.n, b.moved.n].sort((x, y) => x - y)).toEqual([0, 100]);
      const [holder, other] = a.moved.n > 0 ? [a, b] : [b, a];
      await holder.s.stop();
      await push(100, 10);
      await waitFor(() => other.moved.n === 10, { timeoutMs: 30_000, what: 'the other bridge took over' });
      await waitFor(async () => (await redis.llen(`${list}:resultado`)) >= 110, {
        timeoutMs: 60_000,
        what: '110 results',
      });
      const ids = (await redis.lrange(`${list}:resultado`, 0, -1)).map((r) => (JSON.parse(r) as { id: string }).id);
      expect(new Set(ids).size).toBe(110);
    } finally {
      await Promise.all([a.s.stop(), b.s.stop()]);
      await deleteKeys(redis, `*${list}*`);
    }
  });
});
