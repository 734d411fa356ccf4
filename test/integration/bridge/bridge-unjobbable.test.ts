import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { rawOfInvalidEntry, type InvalidReason } from '../../../src/bridge/item.js';
import { processingListOf } from '../../../src/bridge/lossless-list-moves.js';
import { emptyBridgeStats } from '../../../src/bridge/bridge.js';
import { QueueBridge } from '../../../src/bridge/queue-bridge.js';
import { sharedRedisConfig } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld, bridgeDefaults } from './fixture.js';

/** `{"a":[[[...]]]}`: parses, but JSON.stringify (what BullMQ stores) overflows the stack. */
function deeplyNested(depth: number): Buffer {
  return Buffer.from(`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`);
}

interface InvalidEntry {
  raw: string;
  rawBase64?: string;
  reason: string;
  detail: string;
}

async function invalidEntries(world: BridgeWorld): Promise<InvalidEntry[]> {
  const texts = await world.redis.lrange(world.queue.invalidList, 0, -1);
  return texts.map((text) => JSON.parse(text) as InvalidEntry);
}

describe('bridge: items that parse but cannot become jobs', () => {
  let world: BridgeWorld;
  const extra: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const clean of extra.splice(0)) await clean();
    await world.cleanup();
  });

  it('never stops a queue: in a batch of 500 every valid item becomes a job in FIFO order and every unjobbable one lands in the invalid list', async () => {
    world = new BridgeWorld();
    const bad: [Buffer, InvalidReason][] = [
      [Buffer.from('{"id":1e999}'), 'bad-id'],
      [Buffer.from('{"id":-1e999,"documento":"123"}'), 'bad-id'],
      [Buffer.from('{"id":"\\ud800x"}'), 'bad-id'],
      [Buffer.from('{"id":"a\\udc00"}'), 'bad-id'],
      [deeplyNested(200_000), 'not-serializable'],
      [Buffer.from('{"id":{"nested":1}}'), 'bad-id'],
      [Buffer.from('{"truncated":'), 'not-json'],
      [Buffer.from('[{"id":"x"}]'), 'not-object'],
    ];
    // Ids equal to BullMQ's own key names used to be taken for existing jobs and silently dropped.
    const reservedIds = ['meta', 'wait', 'id', 'events', 'stalled-check', 'marker'];
    const pushed: Buffer[] = [];
    const valid: Record<string, unknown>[] = [];
    const badAt = new Map<number, [Buffer, InvalidReason]>();
    bad.forEach((entry, i) => badAt.set(17 + i * 61, entry));
    for (let i = 0; i < 500; i++) {
      const b = badAt.get(i);
      if (b) {
        pushed.push(b[0]);
        continue;
      }
      const reserved = reservedIds[i - 1];
      const payload: Record<string, unknown> =
        reserved !== undefined ? { id: reserved, n: i } : i % 3 === 0 ? { n: i } : { id: `doc-${i}`, n: i };
      valid.push(payload);
      pushed.push(Buffer.from(JSON.stringify(payload)));
    }
    await world.redis.rpush(world.queue.sourceList, ...pushed);
    // Then one more item: the queue must go on after the bad ones.
    const after = { id: 'after', n: 500 };
    await world.redis.rpush(world.queue.sourceList, JSON.stringify(after));

    const bridge = world.bridge();
    await bridge.start();
    await waitFor(async () => (await world.jobCount()) === valid.length + 1, {
      what: 'every valid item bridged',
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === bad.length, {
      what: 'every bad item recorded',
    });

    const ids = await world.waitingIdsOldestFirst();
    const jobs = await Promise.all(ids.map((id) => world.bull.getJob(id)));
    expect(jobs.map((job) => job?.data as unknown)).toEqual([...valid, after]);

    const entries = await invalidEntries(world);
    entries.forEach((entry, i) => {
      const [raw, reason] = bad[i] as [Buffer, InvalidReason];
      expect(entry.reason, `entry ${i}`).toBe(reason);
      expect(entry.detail.length).toBeGreaterThan(0);
      expect(rawOfInvalidEntry(entry).equals(raw), `entry ${i} (${reason}) byte-exact`).toBe(true);
    });
    await waitFor(
      async () => (await world.redis.llen(processingListOf(world.queue.sourceList, bridge.bridgeId))) === 0,
      { what: 'processing list empty' },
    );
    expect(await world.redis.llen(world.queue.sourceList)).toBe(0);
    expect(bridge.stats()[world.name]).toMatchObject({ moved: valid.length + 1, invalid: bad.length, duplicates: 0 });
    expect(bridge.stats()[world.name]?.stuckSince).toBeUndefined();
  });

  it('splits a batch BullMQ refuses, sends only the refused items to the invalid list and adds the rest in order', async () => {
    world = new BridgeWorld();
    const command = new Redis(sharedRedisConfig());
    const real = new Queue(world.name, { connection: sharedRedisConfig() });
    const abort = new AbortController();
    // A queue that refuses, as BullMQ would for an item the classifier could not foresee, any
    // batch holding a "poison" payload; everything else goes to the real queue.
    let calls = 0;
    const refusing = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'addBulk') {
          return async (jobs: Parameters<Queue['addBulk']>[0]) => {
            calls++;
            if (jobs.some((job) => (job.data as { poison?: boolean }).poison === true)) {
              throw new TypeError('Do not know how to serialize a poison');
            }
            return target.addBulk(jobs);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    extra.push(async () => {
      abort.abort();
      await loop;
      await real.close();
      command.disconnect();
    });
    const stats = emptyBridgeStats();
    const processingList = processingListOf(world.queue.sourceList, `unit-${randomUUID()}`);
    const bridge = new QueueBridge({
      queue: world.queue,
      bullQueue: refusing,
      prefix: 'bull',
      command,
      processingList,
      ...bridgeDefaults,
      batchSize: 100,
      maxWaiting: 0,
      blockSeconds: 1,
      backPressureCheckMs: 100,
      retryDelayMs: 100,
      jobOptions: {},
      logger: world.log.logger,
      events: {},
      stats,
      signal: abort.signal,
      giveUp: new AbortController().signal,
    });
    const payloads = Array.from({ length: 100 }, (_, i) =>
      [13, 14, 77].includes(i) ? { n: i, poison: true } : { id: `ok-${i}`, n: i },
    );
    await world.redis.rpush(world.queue.sourceList, ...payloads.map((p) => JSON.stringify(p)));
    const loop = bridge.run();

    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === 3, { what: 'culprits recorded' });
    await waitFor(async () => (await world.jobCount()) === 97, { what: 'the others bridged' });
    const ids = await world.waitingIdsOldestFirst();
    const jobs = await Promise.all(ids.map((id) => real.getJob(id)));
    expect(jobs.map((job) => job?.data as unknown)).toEqual(payloads.filter((p) => !('poison' in p)));
    const entries = await invalidEntries(world);
    expect(entries.map((e) => e.reason)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(entries.map((e) => JSON.parse(e.raw) as unknown)).toEqual([payloads[13], payloads[14], payloads[77]]);
    expect(entries[0]?.detail).toContain('poison');
    await waitFor(async () => (await world.redis.llen(processingList)) === 0, { what: 'processing list empty' });
    expect(stats).toMatchObject({ moved: 97, invalid: 3, stuckSince: undefined });
    // Bisection, not one add per item.
    expect(calls).toBeLessThan(40);
  });

  it('reports a batch that keeps failing while Redis answers as stuck, logs it at most once a minute, and clears it when the batch moves', async () => {
    world = new BridgeWorld();
    let now = Date.parse('2026-01-01T00:00:00Z');
    // The invalid list is a string: settling the batch fails with WRONGTYPE, a cause that is
    // not the items and not an outage.
    await world.redis.set(world.queue.invalidList, 'not a list');
    await world.redis.rpush(world.queue.sourceList, 'not json', JSON.stringify({ id: 'x' }));
    const bridge = world.bridge({ retryDelayMs: 50, clock: () => now });
    await bridge.start();

    await waitFor(() => bridge.stats()[world.name]?.stuckSince !== undefined, { what: 'stuck reported' });
    expect(bridge.stats()[world.name]?.stuckReason).toContain('WRONGTYPE');
    const stuckLines = (): string[] =>
      world.log.lines.filter((l) => l.startsWith('error') && l.includes('[PONTE PARADA]'));
    // Many retries, one line while the clock stands still.
    const failuresBefore = world.log.lines.length;
    await waitFor(() => world.log.lines.length > failuresBefore + 10, { what: 'more retries' });
    expect(stuckLines()).toHaveLength(1);
    now += 61_000;
    await waitFor(() => stuckLines().length === 2, { what: 'a second line after a minute' });
    expect(stuckLines()[1]).toContain('há 61s');

    await world.redis.del(world.queue.invalidList);
    await waitFor(() => bridge.stats()[world.name]?.stuckSince === undefined, { what: 'stuck cleared' });
    expect(world.log.lines.some((l) => l.includes('[PONTE LIBERADA]'))).toBe(true);
    expect(await world.redis.llen(world.queue.invalidList)).toBe(1);
    await waitFor(async () => (await world.jobCount()) === 1, { what: 'the valid item bridged' });
  });
});
