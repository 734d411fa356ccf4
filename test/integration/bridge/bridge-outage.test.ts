import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { Bridge } from '../../../src/bridge/bridge.js';
import { PrivateRedis, sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld, bridgeDefaults, jobsDefaults, memoryLogger, queueConfig } from './fixture.js';

describe('bridge: lifecycle and Redis outages', () => {
  let server: PrivateRedis | undefined;
  let world: BridgeWorld | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await world?.cleanup();
    world = undefined;
  });

  it('close() does not wait for an idle BLMOVE to time out, and is idempotent', async () => {
    world = new BridgeWorld();
    const bridge = world.bridge({}, { blockSeconds: 10 });
    await bridge.start();
    await bridge.start();
    await world.redis.rpush(world.queue.sourceList, JSON.stringify({ a: 1 }));
    await waitFor(async () => (await world?.jobCount()) === 1, { what: 'one job' });
    const started = Date.now();
    await Promise.all([bridge.close(), bridge.close()]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('keeps running while Redis is down, bridges again when it is back, closes promptly while it is down', async () => {
    server = await PrivateRedis.create();
    await server.start();
    const config = sharedRedisConfig({ port: server.port });
    const queue = queueConfig('outage');
    const { logger, lines } = memoryLogger();
    const bridge = new Bridge({
      queues: [queue],
      redis: config,
      bridge: { ...bridgeDefaults, blockSeconds: 5 },
      jobs: jobsDefaults,
      logger,
      bridgeId: 'outage-test',
      retryDelayMs: 100,
    });
    await bridge.start();
    const client = new Redis({ ...config, maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    const bullConnection = new Redis({ ...config, maxRetriesPerRequest: null });
    bullConnection.on('error', () => undefined);
    const bull = new Queue(queue.name, { connection: bullConnection });
    bull.on('error', () => undefined);
    const outages = (): number =>
      lines.filter((line) => line.startsWith('warn') && /inacessível|perdida/.test(line)).length;
    try {
      await client.rpush(queue.sourceList, JSON.stringify({ id: 'before' }));
      await waitFor(async () => (await bull.getJobCountByTypes('waiting', 'prioritized')) === 1, { what: 'first job' });

      await server.stop();
      await waitFor(() => outages() > 0, { what: 'outage logged' });
      await server.start();
      await client.rpush(queue.sourceList, ...Array.from({ length: 100 }, (_, i) => JSON.stringify({ i })));
      await waitFor(async () => (await bull.getJobCountByTypes('waiting', 'prioritized')) === 100, {
        what: 'jobs after the outage',
        timeoutMs: 30_000,
      });
      expect(bridge.stats()[queue.name]?.moved).toBe(101);

      const before = outages();
      await server.stop();
      await waitFor(() => outages() > before, { what: 'second outage logged' });
      const started = Date.now();
      await bridge.close();
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      await bridge.close();
      await bull.close();
      bullConnection.disconnect();
      client.disconnect();
    }
  });
});
