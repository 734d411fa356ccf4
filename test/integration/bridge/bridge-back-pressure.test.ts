import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

describe('bridge: back-pressure', () => {
  let world: BridgeWorld;
  afterEach(async () => world.cleanup());

  it('holds items in the source list above maxWaiting and resumes when waiting drops', async () => {
    world = new BridgeWorld();
    const bridge = world.bridge({ backPressureCheckMs: 50 }, { maxWaiting: 100, batchSize: 30 });
    await bridge.start();
    await world.redis.rpush(world.queue.sourceList, ...Array.from({ length: 500 }, (_, i) => JSON.stringify({ i })));

    await waitFor(() => bridge.stats()[world.name]?.holding, { what: 'bridge holding items' });
    expect(await world.bull.getJobCountByTypes('waiting', 'prioritized')).toBe(100);
    expect(await world.redis.llen(world.queue.sourceList)).toBe(400);
    expect(world.log.lines.some((line) => line.startsWith('warn') && line.includes('segurando itens'))).toBe(true);

    // Drop 50 waiting jobs: the bridge moves exactly 50 more, then holds again.
    const oldest = (await world.waitingIdsOldestFirst()).slice(0, 50);
    for (const id of oldest) await world.bull.remove(id);
    await waitFor(async () => (await world.redis.llen(world.queue.sourceList)) === 350, { what: '50 more moved' });
    await waitFor(() => bridge.stats()[world.name]?.holding, { what: 'holding again' });
    expect(await world.bull.getJobCountByTypes('waiting', 'prioritized')).toBe(100);
    expect(await world.redis.llen(world.queue.sourceList)).toBe(350);
    expect(bridge.stats()[world.name]?.moved).toBe(150);

    // The held items keep their order: the next ones moved are 150, 151, ...
    const ids = await world.waitingIdsOldestFirst();
    const last = await world.bull.getJob(ids[ids.length - 1] as string);
    expect(last?.data).toEqual({ i: 149 });
    expect(await world.redis.lindex(world.queue.sourceList, 0)).toBe(JSON.stringify({ i: 150 }));
  });
});
