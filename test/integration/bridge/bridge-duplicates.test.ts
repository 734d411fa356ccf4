import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

describe('bridge: duplicate ids', () => {
  let world: BridgeWorld;
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.close();
    await world.cleanup();
  });

  it('does not run an id twice while its job is kept, and counts the duplicates', async () => {
    world = new BridgeWorld();
    const runs = new Map<string, number>();
    const seenData: unknown[] = [];
    worker = new Worker(
      world.name,
      async (job) => {
        const key = JSON.stringify((job.data as { id?: unknown }).id ?? job.id);
        runs.set(key, (runs.get(key) ?? 0) + 1);
        seenData.push(job.data);
        return Promise.resolve('done');
      },
      { connection: { ...sharedRedisConfig(), maxRetriesPerRequest: null } },
    );
    const duplicates: (string | number)[] = [];
    const bridge = world.bridge({ onDuplicate: (_queue, id) => duplicates.push(id) });
    await bridge.start();
    const push = (...items: object[]): Promise<number> =>
      world.redis.rpush(world.queue.sourceList, ...items.map((item) => JSON.stringify(item)));

    // Same batch: the second "dup" is a duplicate; 7 and "7" are different ids; no-id items repeat freely.
    await push({ id: 'dup', v: 1 }, { id: 'dup', v: 2 }, { id: 7 }, { id: '7' }, { v: 'same' }, { v: 'same' });
    await waitFor(async () => (await world.bull.getCompletedCount()) === 5, { what: '5 completed jobs' });
    await waitFor(() => bridge.stats()[world.name]?.duplicates === 1, { what: 'first duplicate counted' });

    // Later batches: ids of completed (kept) jobs and of a waiting job.
    await push({ id: 'dup', v: 3 }, { id: 7, v: 'again' });
    await waitFor(() => bridge.stats()[world.name]?.duplicates === 3, { what: 'later duplicates counted' });
    await push({ id: 'fresh' });
    await waitFor(async () => (await world.bull.getCompletedCount()) === 6, { what: '6 completed jobs' });

    expect(runs.get('"dup"')).toBe(1);
    expect(runs.get('7')).toBe(1);
    expect(runs.get('"7"')).toBe(1);
    expect(runs.get('"fresh"')).toBe(1);
    expect(seenData.filter((data) => (data as { v?: string }).v === 'same')).toHaveLength(2);
    expect(seenData).toContainEqual({ id: 'dup', v: 1 });
    expect(seenData).not.toContainEqual({ id: 'dup', v: 2 });
    expect(duplicates).toEqual(['dup', 'dup', 7]);
    expect(bridge.stats()[world.name]).toMatchObject({ moved: 6, duplicates: 3, invalid: 0, replayed: 0 });
    expect(world.log.lines.filter((line) => line.startsWith('warn') && line.includes('id duplicado'))).toHaveLength(3);
    expect(await world.redis.llen(world.queue.sourceList)).toBe(0);
  });
});
