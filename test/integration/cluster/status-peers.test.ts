/**
 * One source of truth for the other instances' units (issue 22): `/api/status` counts another
 * instance's units by the slots it holds in Redis, as the scaler does, not by the count in its last
 * heartbeat (a slot exists from the moment the unit is granted; the heartbeat's count is up to a
 * beat old). The other instance here is a record and slots written by the test, so the two counts
 * differ for as long as the test needs.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, freePort, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

interface Status {
  instances: { id: string; units: Record<string, number>; workers: number; self: boolean }[];
  queues: { name: string; workers: number }[];
}

describe("/api/status and the other instances' units", () => {
  const prefix = uniqueName('peers');
  const queue = uniqueName('peerq');
  const redis = new Redis(sharedRedisConfig());
  const services: Service[] = [];

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await deleteKeys(redis, `${prefix}*`);
    await deleteKeys(redis, `*${queue}*`);
    redis.disconnect();
  });

  it('counts them by the slots they hold, the count the scaler splits on', async () => {
    const port = await freePort();
    const config = serviceConfig(
      {
        http: { enabled: true, port },
        queues: { [queue]: { flow: 'echo', resultList: `${queue}:resultado`, maxWorkers: 5 } },
        capacity: { enabled: false },
        shutdown: { timeoutSeconds: 1 },
      },
      { REDIS_PREFIX: prefix, INSTANCE_ID: 'maq-a', BRIDGE_ID: uniqueName('ponte') },
    );
    const service = new Service({ config, logger: memoryLogger().logger });
    services.push(service);
    await service.start();

    // Another instance: its heartbeat says it runs no unit of the queue, yet it holds 2 slots.
    const membership = new PoolMembership({
      redis,
      prefix,
      queues: config.queues.map((q) => q.name),
      ttlMs: 120_000, // lives through the test without beating
    });
    const owner = { id: 'maq-b', host: 'outra-maquina', pid: 4242, startedAt: Date.now() };
    const caps = { maxTotalWorkers: 20, maxWorkers: Object.fromEntries(config.queues.map((q) => [q.name, 5])) };
    const joined = await membership.join(
      { ...owner, version: 'v', capacity: 4, units: { [queue]: 0 }, beatAt: Date.now() },
      caps,
    );
    expect(joined.kind).toBe('renewed');
    expect(await membership.claimSlot(owner, queue)).not.toBeNull();
    expect(await membership.claimSlot(owner, queue)).not.toBeNull();
    const peer = (await membership.snapshot()).instances.find((i) => i.id === 'maq-b');
    expect(peer).toMatchObject({ units: { [queue]: 0 }, slots: { [queue]: 2 } });

    const url = service.httpUrl ?? `http://127.0.0.1:${port}`;
    const status = await waitFor(
      async () => {
        const s = (await (await fetch(`${url}/api/status`)).json()) as Status;
        return s.instances.some((i) => i.id === 'maq-b') ? s : undefined;
      },
      { what: 'maq-b listed in /api/status' },
    );
    expect(status.instances.map((i) => i.id)).toEqual(['maq-a', 'maq-b']);
    expect(status.instances.find((i) => i.id === 'maq-b')).toMatchObject({
      units: { [queue]: 2 },
      workers: 2,
      self: false,
    });
    // maq-a runs none (no items): the queue's global count is maq-b's slots.
    expect(service.pool?.counts(queue).live).toBe(0);
    expect(status.queues.find((q) => q.name === queue)?.workers).toBe(2);
    await membership.leave(owner);
  });
});
