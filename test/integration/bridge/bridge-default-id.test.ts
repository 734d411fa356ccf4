import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld, killBridgeProcess, startBridgeProcess, type BridgeProcess } from './fixture.js';

describe('bridge: default id', () => {
  let world: BridgeWorld;
  const children: BridgeProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) await killBridgeProcess(child);
    await world.cleanup();
  });

  it('two bridge processes on one host without BRIDGE_ID get a processing list each: every item becomes one job and both lists end empty', async () => {
    world = new BridgeWorld();
    const total = 3000;
    children.push(startBridgeProcess(world, { BRIDGE_BATCH_SIZE: '20' }));
    children.push(startBridgeProcess(world, { BRIDGE_BATCH_SIZE: '20' }));
    const output = (): string => children.map((c) => c.output.join('')).join('');
    // Both up (each logs its id) before the items come, so both take from the list.
    await waitFor(() => (output().match(/id da ponte/g) ?? []).length === 2, { what: 'both bridges started' });
    for (let from = 0; from < total; from += 500) {
      await world.redis.rpush(
        world.queue.sourceList,
        ...Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: `doc-${from + i}` })),
      );
    }
    await waitFor(async () => (await world.jobCount()) === total, { what: `${total} jobs`, timeoutMs: 60_000 });
    const ids = [...output().matchAll(/id da ponte ([^)\s]+)\)/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(2);
    await waitFor(
      async () => {
        for (const id of ids)
          if ((await world.redis.llen(`${world.queue.sourceList}:processing:${id}`)) > 0) return false;
        return true;
      },
      { what: 'both processing lists empty' },
    );
    expect(output()).not.toMatch(/changed under this bridge|PONTE PARADA/);
    expect(await world.redis.llen(world.queue.sourceList)).toBe(0);
    for (const child of children) {
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    }
  });
});
