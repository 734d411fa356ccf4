import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { rawOfInvalidEntry, type InvalidReason } from '../../../src/bridge/item.js';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld } from './fixture.js';

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('bridge: invalid items', () => {
  let world: BridgeWorld;
  afterEach(async () => world.cleanup());

  it('keeps every invalid item byte for byte with its reason and bridges the valid ones around them', async () => {
    world = new BridgeWorld();
    const invalid: [Buffer, InvalidReason][] = [
      [Buffer.from('{not json'), 'not-json'],
      [Buffer.from(''), 'not-json'],
      [Buffer.from('\uFEFF{"bom":true}'), 'not-json'],
      [Buffer.from('[1,2,3]'), 'not-object'],
      [Buffer.from('"a string"'), 'not-object'],
      [Buffer.from('42'), 'not-object'],
      [Buffer.from('null'), 'not-object'],
      [Buffer.from('{"id":null}'), 'bad-id'],
      [Buffer.from('{"id":{"a":1}}'), 'bad-id'],
      [Buffer.from('{"id":true}'), 'bad-id'],
      [Buffer.from('{"id":[1]}'), 'bad-id'],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]), 'invalid-utf8'],
      [Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), 'invalid-utf8'],
      [Buffer.from('x'.repeat(10 * 1024 * 1024)), 'too-large'],
      [Buffer.concat([Buffer.from('{"big":"'), Buffer.alloc(2 * 1024 * 1024, 0xe9), Buffer.from('"}')]), 'too-large'],
      [Buffer.from('{"ok":"ação 💥", "id": 1} trailing'), 'not-json'],
    ];
    const valid = invalid.map((_, i) => ({ id: `ok-${i}`, text: 'ação 💥', i }));
    const reasons: string[] = [];
    const bridge = world.bridge({ onInvalid: (_queue, reason) => reasons.push(reason) }, { batchSize: 7 });
    await bridge.start();

    const pushed: Buffer[] = [];
    invalid.forEach(([raw], i) => {
      pushed.push(Buffer.from(JSON.stringify(valid[i])), raw);
    });
    await world.redis.rpush(world.queue.sourceList, ...pushed);

    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === invalid.length, {
      what: 'invalid items recorded',
    });
    await waitFor(async () => (await world.jobCount()) === valid.length, { what: 'valid items bridged' });

    const entries = await world.redis.lrange(world.queue.invalidList, 0, -1);
    for (const [i, text] of entries.entries()) {
      const entry = JSON.parse(text) as {
        raw: string;
        rawBase64?: string;
        reason: string;
        at: string;
        queue: string;
        truncated?: boolean;
        bytes?: number;
        sha1?: string;
        storedIn?: { key: string; field: string };
      };
      const [raw, reason] = invalid[i] as [Buffer, InvalidReason];
      if (reason === 'too-large') {
        // Set aside inside Redis: the entry holds the item's start, length and hash; the side
        // store holds its exact bytes.
        expect(entry).toMatchObject({
          reason,
          truncated: true,
          bytes: raw.length,
          sha1: createHash('sha1').update(raw).digest('hex'),
        });
        expect(raw.subarray(0, 256).equals(rawOfInvalidEntry(entry)), `entry ${i} prefix`).toBe(true);
        const stored = await world.redis.hgetBuffer(entry.storedIn?.key ?? '', entry.storedIn?.field ?? '');
        expect(stored?.equals(raw), `entry ${i} (${reason}) byte-exact in the side store`).toBe(true);
        continue;
      }
      expect(rawOfInvalidEntry(entry).equals(raw), `entry ${i} (${reason}) byte-exact`).toBe(true);
      expect(entry.reason).toBe(reason);
      expect(entry.queue).toBe(world.name);
      expect(Number.isNaN(Date.parse(entry.at))).toBe(false);
      // `raw` alone is exact whenever the item is UTF-8; base64 only when it is not.
      expect(entry.rawBase64 !== undefined, `entry ${i} has rawBase64`).toBe(!isUtf8(raw));
      if (entry.rawBase64 === undefined) expect(Buffer.from(entry.raw, 'utf8').equals(raw)).toBe(true);
    }

    const ids = await world.waitingIdsOldestFirst();
    const jobs = await Promise.all(ids.map((id) => world.bull.getJob(id)));
    expect(jobs.map((job) => job?.data as unknown)).toEqual(valid);

    expect(bridge.stats()[world.name]).toMatchObject({ moved: valid.length, invalid: invalid.length });
    expect(reasons).toEqual(invalid.map(([, reason]) => reason));
    expect(world.log.lines.filter((line) => line.startsWith('warn') && line.includes('item inválido'))).toHaveLength(
      invalid.length,
    );
  });
});
