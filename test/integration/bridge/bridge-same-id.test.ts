import { afterEach, describe, expect, it } from 'vitest';
import { processingListOf } from '../../../src/bridge/lossless-list-moves.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

describe('bridge: two instances started by mistake with the same id', () => {
  let world: BridgeWorld;
  afterEach(async () => world.cleanup());

  it('lose nothing and make no second job', async () => {
    world = new BridgeWorld();
    const a = world.bridge({ retryDelayMs: 10 }, { batchSize: 20 });
    const b = world.bridge({ retryDelayMs: 10 }, { batchSize: 20 });
    const total = 3000;
    const items = Array.from({ length: total }, (_, n) => (n % 2 === 0 ? { id: `x-${n}`, n } : { n }));
    await world.redis.rpush(world.queue.sourceList, ...items.map((item) => JSON.stringify(item)));
    await Promise.all([a.start(), b.start()]);

    const processing = processingListOf(world.queue.sourceList, `test-${world.name}`);
    await waitFor(
      async () =>
        (await world.redis.llen(world.queue.sourceList)) === 0 &&
        (await world.redis.llen(processing)) === 0 &&
        (await world.jobCount()) >= total,
      { what: 'all items bridged', timeoutMs: 45_000 },
    );
    expect(await world.jobCount()).toBe(total);
    const ids = await world.waitingIdsOldestFirst();
    const jobs = await Promise.all(ids.map((id) => world.bull.getJob(id)));
    const ns = jobs.map((job) => (job?.data as { n: number }).n).sort((x, y) => x - y);
    expect(ns).toEqual(items.map((item) => item.n));
    expect(await world.redis.llen(world.queue.invalidList)).toBe(0);
  });
});
