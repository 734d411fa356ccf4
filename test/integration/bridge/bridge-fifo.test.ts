import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

describe('bridge: 10,000 items', () => {
  let world: BridgeWorld;
  afterEach(async () => world.cleanup());

  it('makes one job per item, in FIFO order, with the same payloads', async () => {
    world = new BridgeWorld();
    const moved: number[] = [];
    const bridge = world.bridge({ onMoved: (_queue, count) => moved.push(count) });
    await bridge.start();

    const items = Array.from({ length: 10_000 }, (_, i) =>
      i % 2 === 0 ? { id: `item-${i}`, n: i, nested: { ok: true, list: [i, 'x'] } } : { n: i, text: `ção ${i}` },
    );
    // Pushed while the bridge runs, in chunks, as a poller would.
    for (let i = 0; i < items.length; i += 1000) {
      await world.redis.rpush(world.queue.sourceList, ...items.slice(i, i + 1000).map((item) => JSON.stringify(item)));
    }

    await waitFor(async () => (await world.jobCount()) === 10_000, { what: '10,000 jobs', timeoutMs: 60_000 });
    expect(await world.redis.llen(world.queue.sourceList)).toBe(0);
    expect(await world.redis.llen(`${world.queue.sourceList}:processing:test-${world.name}`)).toBe(0);

    const ids = await world.waitingIdsOldestFirst();
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids).size).toBe(10_000);
    const jobs = await Promise.all(ids.map((id) => world.bull.getJob(id)));
    expect(jobs.map((job) => job?.data as unknown)).toEqual(items);
    // Timestamps never go backwards along the wait list.
    const stamps = jobs.map((job) => job?.timestamp ?? 0);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1] ?? 0);
    expect(jobs[0]?.id).toBe('item-0');
    expect(jobs[0]?.opts.attempts).toBe(3);
    // Whole completed jobs are kept jobs.keepCompletedJobSeconds; their ids the whole duplicate window.
    expect(jobs[0]?.opts.removeOnComplete).toEqual({ age: 3_600 });

    expect(bridge.stats()[world.name]).toMatchObject({ moved: 10_000, invalid: 0, duplicates: 0 });
    expect(moved.reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(await world.redis.llen(world.queue.invalidList)).toBe(0);
  });
});
