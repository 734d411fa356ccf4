import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { invalidListUsage, oversizedStoreOf } from '../../../src/bridge/lossless-list-moves.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

interface Entry {
  raw: string;
  reason: string;
  storedIn?: { key: string; field: string };
}

async function entries(world: BridgeWorld): Promise<Entry[]> {
  return (await world.redis.lrange(world.queue.invalidList, 0, -1)).map((t) => JSON.parse(t) as Entry);
}

describe('bridge: the invalid list is bounded', () => {
  let world: BridgeWorld;
  afterEach(async () => world.cleanup());

  it('keeps at most invalidMaxItems entries: the oldest are dropped, logged and counted', async () => {
    world = new BridgeWorld();
    const dropped: number[] = [];
    const bridge = world.bridge(
      { onInvalidDropped: (_queue, count) => dropped.push(count) },
      { invalidMaxItems: 5, batchSize: 4 },
    );
    // A list already holding entries from before (another version, another bridge).
    await world.redis.rpush(
      world.queue.invalidList,
      ...[0, 1].map((n) =>
        JSON.stringify({ raw: `old-${n}`, reason: 'not-json', detail: '', queue: world.name, at: '' }),
      ),
    );
    await bridge.start();
    const items = Array.from({ length: 8 }, (_, n) => `bad-${n}`);
    await world.redis.rpush(world.queue.sourceList, ...items, JSON.stringify({ id: 'after' }));
    await waitFor(async () => (await world.jobCount()) === 1, { what: 'the valid item after them bridged' });
    await waitFor(() => bridge.stats()[world.name]?.invalid === 8, { what: 'every bad item recorded' });

    // 2 old + 8 new, bound 5: the 5 newest stay, in order.
    expect((await entries(world)).map((e) => e.raw)).toEqual(['bad-3', 'bad-4', 'bad-5', 'bad-6', 'bad-7']);
    expect(bridge.stats()[world.name]?.invalidDropped).toBe(5);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(5);
    expect(world.log.lines.some((l) => l.startsWith('warn') && /mais antiga\(s\) apagada\(s\)/.test(l))).toBe(true);
  });

  it('keeps the list under invalidMaxBytes, and drops the side-store bytes of an oversized entry it drops', async () => {
    world = new BridgeWorld();
    const side = oversizedStoreOf(world.queue.invalidList);
    const bridge = world.bridge({}, { invalidMaxBytes: 64 * 1024, maxItemBytes: 16 * 1024, batchSize: 1 });
    await bridge.start();
    // First an oversized item (its bytes go to the side store), then enough invalid bytes to push it out.
    await world.redis.rpush(world.queue.sourceList, 'y'.repeat(32 * 1024));
    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === 1, {
      what: 'the oversized item set aside',
    });
    expect(await world.redis.hlen(side)).toBe(1);
    const [first] = await entries(world);
    expect(first?.storedIn?.key).toBe(side);

    const bad = Array.from({ length: 20 }, (_, n) => `${n}-${'z'.repeat(10 * 1024)}`);
    await world.redis.rpush(world.queue.sourceList, ...bad);
    await waitFor(() => bridge.stats()[world.name]?.invalid === 21, { what: 'every bad item recorded' });

    const usage = await invalidListUsage(world.redis, world.queue.invalidList);
    expect(usage.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(usage.items).toBeGreaterThan(0);
    const kept = await entries(world);
    // The newest are kept, in order, and the oversized entry (the oldest) went with its bytes.
    expect(kept.map((e) => e.raw)).toEqual(bad.slice(bad.length - kept.length));
    expect(await world.redis.exists(side)).toBe(0);
    expect(bridge.stats()[world.name]?.invalidDropped).toBe(21 - kept.length);
  });
});

describe('bridge: no item can make a batch throw', () => {
  let world: BridgeWorld;
  afterEach(async () => world.cleanup());

  it('an item whose invalid entry cannot be built as usual (100 MB of control characters under a raised maxItemBytes) still becomes an exact entry, and the queue goes on', async () => {
    world = new BridgeWorld();
    const size = 100 * 1024 * 1024;
    // maxItemBytes above the schema's 64 MiB bound, as a hand-made config could: the item reaches
    // Node, and its JSON (6 characters a byte) would pass V8's string limit.
    const bridge = world.bridge({}, { maxItemBytes: 120 * 1024 * 1024, invalidMaxBytes: 1024 * 1024 * 1024 });
    const sha = (await world.redis.eval(
      `redis.call('RPUSH', KEYS[1], string.rep('\\1', tonumber(ARGV[1]))) return redis.sha1hex(string.rep('\\1', tonumber(ARGV[1])))`,
      1,
      world.queue.sourceList,
      size,
    )) as string;
    await world.redis.rpush(world.queue.sourceList, JSON.stringify({ id: 'after' }));
    await bridge.start();
    await waitFor(async () => (await world.jobCount()) === 1, {
      what: 'the item after it bridged',
      timeoutMs: 120_000,
    });
    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === 1, { what: 'its entry' });
    const check = (await world.redis.eval(
      `local e = cjson.decode(redis.call('LINDEX', KEYS[1], 0)) return {e.reason, #e.raw, e.rawBase64 and #e.rawBase64 or 0}`,
      1,
      world.queue.invalidList,
    )) as [string, number, number];
    expect(check[0]).toBe('not-json');
    expect(check[1]).toBeLessThan(1000);
    expect(check[2]).toBeGreaterThan(size);
    const [text] = await world.redis.lrange(world.queue.invalidList, 0, 0);
    const entry = JSON.parse(text ?? '{}') as { rawBase64: string };
    const raw = Buffer.from(entry.rawBase64, 'base64');
    expect(raw.length).toBe(size);
    expect(createHash('sha1').update(raw).digest('hex')).toBe(sha);
    expect(bridge.stats()[world.name]?.stuckSince).toBeUndefined();
  }, 180_000);
});
