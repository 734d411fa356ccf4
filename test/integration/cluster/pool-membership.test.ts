import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolMembership, type InstanceRecord } from '../../../src/cluster/pool-membership.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';

const record = (id: string, units: Record<string, number> = {}): InstanceRecord => ({
  id,
  host: 'h',
  version: 'v',
  pid: 1,
  capacity: 10,
  units,
  beatAt: Date.now(),
  startedAt: Date.now(),
});

describe('PoolMembership (Redis)', () => {
  let redis: Redis;
  const queue = uniqueName('pm');
  const other = `${queue}-b`;
  const prefix = uniqueName('pmprefix');

  beforeAll(() => {
    const c = sharedRedisConfig();
    redis = new Redis({ host: c.host, port: c.port });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('grants slots within the per-queue and total caps, whatever instances claim at once', async () => {
    const m = new PoolMembership({ redis, prefix, queues: [queue, other], ttlMs: 60_000 });
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => m.claimSlot(`i${i % 3}`, i % 2 ? other : queue, 10, 12)),
    );
    const granted = claims.filter((n) => n !== null);
    expect(granted).toHaveLength(12);
    // Numbers are unique per queue: they name the units (Worker-<queue>-<n>).
    const byQueue = claims.map((n, i) => (n === null ? null : `${i % 2 ? other : queue}|${n}`)).filter(Boolean);
    expect(new Set(byQueue).size).toBe(12);
    expect(await m.claimSlot('i0', queue, 10, 12)).toBeNull();
    await m.releaseSlot('i9', queue, 1); // not the holder: nothing freed
    expect(await m.claimSlot('i0', queue, 10, 12)).toBeNull();
    const holder = claims.findIndex((n, i) => n === 1 && i % 2 === 0);
    await m.releaseSlot(`i${holder % 3}`, queue, 1);
    expect(await m.claimSlot('i0', queue, 10, 12)).toBe(1);
  });

  it('lists live instances with their slots; a silent one and its slots expire', async () => {
    const m = new PoolMembership({ redis, prefix: `${prefix}-2`, queues: [queue], ttlMs: 600 });
    await m.beat(record('maq-a', { [queue]: 1 }));
    await m.beat(record('maq-b'));
    expect(await m.claimSlot('maq-a', queue, 10, 20)).toBe(1);
    expect(await m.claimSlot('maq-b', queue, 10, 20)).toBe(2);
    const snap = await m.snapshot();
    expect(snap.instances.map((i) => [i.id, i.slots[queue] ?? 0])).toEqual([
      ['maq-a', 1],
      ['maq-b', 1],
    ]);
    // maq-a keeps beating, maq-b falls silent.
    await waitFor(
      async () => {
        const held = await m.beat(record('maq-a'));
        expect(held).toEqual([{ queue, n: 1 }]);
        const ids = (await m.snapshot()).instances.map((i) => i.id);
        return ids.length === 1 ? ids : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'maq-b expired' },
    );
    expect(await m.claimSlot('maq-a', queue, 10, 20)).toBe(2); // maq-b's slot is free again
    await deleteKeys(redis, `${prefix}-2:*`);
  });
});
