import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { processingListOf } from '../../../src/bridge/lossless-list-moves.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld, killBridgeProcess, startBridgeProcess, type BridgeProcess } from './fixture.js';
const BIG = 100 * 1024 * 1024;

/**
 * The bridge's peak resident memory may not come near the items it sets aside: one 100 MB item
 * read into Node (as a Buffer, then a string) is several hundred MB. A bridge that never holds
 * one stays near an idle Node process with BullMQ (~100 MB); the bound leaves room for a loaded
 * machine and still fails if a single such item is read whole.
 */
const PEAK_RSS_BOUND_BYTES = 180 * 1024 * 1024;

/** Pushes `byte` repeated `length` times, built inside Redis (the test never holds the item). */
const PUSH_REPEATED = `redis.call('RPUSH', KEYS[1], string.rep(ARGV[1], tonumber(ARGV[2]))) return redis.sha1hex(string.rep(ARGV[1], tonumber(ARGV[2])))`;

/** Peak resident set size (VmHWM) of a live process, in bytes. */
function peakRss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmHWM for ${pid}`);
  return Number(kb) * 1024;
}

interface Entry {
  raw: string;
  rawBase64?: string;
  reason: string;
  detail: string;
  truncated?: boolean;
  bytes?: number;
  sha1?: string;
  storedIn?: { key: string; field: string };
}

describe('bridge: oversized items', () => {
  let world: BridgeWorld;
  let current: BridgeProcess | undefined;
  afterEach(async () => {
    await killBridgeProcess(current);
    current = undefined;
    await world.cleanup();
  });

  it('sets 100 MB items of control characters and of invalid UTF-8 aside inside Redis: every valid item, also those pushed later, becomes a job in order, the processing list ends empty and the bridge stays small', async () => {
    world = new BridgeWorld();
    const bridgeId = `big-${world.name}`;
    const source = world.queue.sourceList;
    const valid = (n: number): string => JSON.stringify(n % 2 === 0 ? { id: `doc-${n}`, n } : { n });
    const pushValid = async (from: number, to: number): Promise<void> => {
      const items: string[] = [];
      for (let n = from; n < to; n++) items.push(valid(n));
      await world.redis.rpush(source, ...items);
    };
    await pushValid(0, 50);
    const controlSha = (await world.redis.eval(PUSH_REPEATED, 1, source, '\x01', BIG)) as string;
    await pushValid(50, 100);
    const badUtf8Sha = (await world.redis.eval(PUSH_REPEATED, 1, source, Buffer.from([0xff]), BIG)) as string;
    await pushValid(100, 150);

    current = startBridgeProcess(world, { BRIDGE_ID: bridgeId, BRIDGE_OVERSIZED_MAX_BYTES: String(3 * BIG) });
    const pid = current.process.pid as number;
    await waitFor(async () => (await world.jobCount()) >= 150, {
      what: 'the items before and between the big ones bridged',
      timeoutMs: 120_000,
    });
    // Pushed once the big ones were taken: the queue must go on after them.
    await pushValid(150, 200);
    await waitFor(async () => (await world.jobCount()) === 200, {
      what: `every valid item bridged (output: ${current.output.join('').slice(-2000)})`,
      timeoutMs: 120_000,
    });
    const processing = processingListOf(source, bridgeId);
    await waitFor(async () => (await world.redis.llen(processing)) === 0, { what: 'processing list empty' });

    const ids = await world.waitingIdsOldestFirst();
    const jobs = await Promise.all(ids.map((id) => world.bull.getJob(id)));
    expect(jobs.map((job) => (job?.data as { n: number }).n)).toEqual(Array.from({ length: 200 }, (_, n) => n));

    const entries = (await world.redis.lrange(world.queue.invalidList, 0, -1)).map((t) => JSON.parse(t) as Entry);
    expect(entries).toHaveLength(2);
    for (const [entry, sha, first] of [
      [entries[0], controlSha, 0x01],
      [entries[1], badUtf8Sha, 0xff],
    ] as const) {
      expect(entry).toMatchObject({ reason: 'too-large', truncated: true, bytes: BIG, sha1: sha });
      expect(entry?.detail).toContain(String(BIG));
      // A bounded prefix of the exact bytes, never the item.
      const prefix =
        entry?.rawBase64 !== undefined ? Buffer.from(entry.rawBase64, 'base64') : Buffer.from(entry?.raw ?? '');
      expect(prefix.length).toBeGreaterThan(0);
      expect(prefix.length).toBeLessThanOrEqual(1024);
      expect(prefix.every((b) => b === first)).toBe(true);
      // The original, byte for byte, in the side store (hash and length checked inside Redis).
      const stored = entry?.storedIn;
      expect(stored?.key).toBe(`${world.queue.invalidList}:oversized`);
      const check = (await world.redis.eval(
        `local v = redis.call('HGET', KEYS[1], ARGV[1]) if not v then return {0, ''} end return {#v, redis.sha1hex(v)}`,
        1,
        stored?.key ?? '',
        stored?.field ?? '',
      )) as [number, string];
      expect(check).toEqual([BIG, sha]);
    }
    expect(await world.redis.llen(source)).toBe(0);

    const peak = peakRss(pid);
    console.log(`bridge peak RSS with two 100 MB items: ${(peak / 1024 / 1024).toFixed(1)} MB`);
    expect(peak).toBeLessThan(PEAK_RSS_BOUND_BYTES);

    current.process.kill('SIGTERM');
    expect(await current.exited).toBe(0);
  }, 300_000);

  it('sets aside an oversized item an older version left in the processing list, and bridges the rest of that batch', async () => {
    world = new BridgeWorld();
    const bridge = world.bridge();
    const processing = processingListOf(world.queue.sourceList, bridge.bridgeId);
    // As the stuck bridge of the issue left it: the whole item in its processing list.
    await world.redis.set(`bull:${world.name}:id`, 3);
    const big = Buffer.alloc(3 * 1024 * 1024, 0x01);
    await world.redis.rpush(
      processing,
      Buffer.from(`1|${JSON.stringify({ n: 1 })}`),
      Buffer.concat([Buffer.from('2|'), big]),
      Buffer.from(`3|${JSON.stringify({ n: 3 })}`),
    );
    await bridge.start();
    await waitFor(async () => (await world.jobCount()) === 2, { what: 'the two valid leftovers bridged' });
    await waitFor(async () => (await world.redis.llen(processing)) === 0, { what: 'processing list empty' });
    const [text] = await world.redis.lrange(world.queue.invalidList, 0, -1);
    const entry = JSON.parse(text ?? '{}') as Entry;
    expect(entry).toMatchObject({ reason: 'too-large', truncated: true, bytes: big.length });
    const stored = await world.redis.hgetBuffer(entry.storedIn?.key ?? '', entry.storedIn?.field ?? '');
    expect(stored?.equals(big)).toBe(true);
  });

  it('drops the bytes of an oversized item when the side store is full, and keeps its prefix, length and hash', async () => {
    world = new BridgeWorld();
    const bridgeId = `big-${world.name}`;
    const source = world.queue.sourceList;
    await world.redis.rpush(source, JSON.stringify({ n: 0 }));
    const sha = (await world.redis.eval(PUSH_REPEATED, 1, source, 'x', 3 * 1024 * 1024)) as string;
    await world.redis.rpush(source, JSON.stringify({ n: 1 }));

    current = startBridgeProcess(world, { BRIDGE_ID: bridgeId, BRIDGE_OVERSIZED_MAX_BYTES: String(1024 * 1024) });
    await waitFor(async () => (await world.jobCount()) === 2, { what: 'both valid items bridged' });
    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === 1, { what: 'one invalid entry' });
    const [text] = await world.redis.lrange(world.queue.invalidList, 0, -1);
    const entry = JSON.parse(text ?? '{}') as Entry;
    expect(entry).toMatchObject({ reason: 'too-large', truncated: true, bytes: 3 * 1024 * 1024, sha1: sha });
    expect(entry.storedIn).toBeUndefined();
    expect(await world.redis.exists(`${world.queue.invalidList}:oversized`)).toBe(0);
    await waitFor(() => current?.output.join('').includes('descartado') ?? false, {
      what: 'a line saying the bytes were dropped',
    });
    current.process.kill('SIGTERM');
    expect(await current.exited).toBe(0);
  }, 120_000);
});
