import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runItems } from '../../../src/items/commands.js';
import { waitFor } from '../../helpers/wait.js';
import { captureIo, SchedulingWorld } from './fixture.js';

let world: SchedulingWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('items CLI: oversized items (real Redis)', () => {
  it('lists and shows an oversized entry as a start with length, hash and where the item is; refuses to requeue it; drop removes its bytes too', async () => {
    world = new SchedulingWorld();
    const w = world;
    await w.start({ bridge: { maxItemBytes: 1024 } });
    const config = w.config;
    if (!config) throw new Error('no config');
    const invalidKey = `${w.source}:invalid`;
    const side = `${invalidKey}:oversized`;
    const big = JSON.stringify({ id: 'grande', texto: 'x'.repeat(5000) });
    const sha1 = createHash('sha1').update(big).digest('hex');
    const n = Buffer.byteLength(big);
    await w.redis.rpush(w.source, big);
    await waitFor(async () => (await w.redis.llen(invalidKey)) === 1, { what: 'the oversized entry' });
    expect(await w.redis.hlen(side)).toBe(1);

    const listed = captureIo();
    expect(await runItems(['list', 'conferencia'], { config, io: listed.io })).toBe(0);
    expect(listed.out[0]).toMatch(new RegExp(`^#1 \\[too-large\\] .*\\[só o início de ${n} bytes\\] \\{"id":"grande"`));

    const shown = captureIo();
    expect(await runItems(['show', 'conferencia', '1'], { config, io: shown.io })).toBe(0);
    expect(shown.out[1]).toContain(`o item inteiro (${n} bytes, sha1 ${sha1}) está em ${side}, campo `);
    expect(shown.out[1]).toContain('redis-cli --raw HGET');
    expect(shown.out[2]).toBe(big.slice(0, 256));

    const requeued = captureIo();
    expect(await runItems(['requeue', 'conferencia', '--all', '--yes'], { config, io: requeued.io })).toBe(1);
    expect(requeued.err[0]).toMatch(
      new RegExp(`^#1: item grande demais \\(${n} bytes > bridge\\.maxItemBytes 1024\\): não pode voltar`),
    );
    expect(requeued.asked).toEqual([]);
    expect(await w.redis.llen(invalidKey)).toBe(1);
    expect(await w.redis.llen(w.source)).toBe(0);

    const dropped = captureIo();
    expect(await runItems(['drop', 'conferencia', '1'], { config, io: dropped.io })).toBe(0);
    expect(dropped.out[2]).toBe(`    e o item inteiro em ${side} (${n} bytes)`);
    expect(await w.redis.llen(invalidKey)).toBe(0);
    expect(await w.redis.exists(side)).toBe(0);
  });
});
