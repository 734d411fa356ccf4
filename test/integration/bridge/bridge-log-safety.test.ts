import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { BridgeWorld, killBridgeProcess, startBridgeProcess, type BridgeProcess } from './fixture.js';

/** Everything a log reader, a terminal or `grep` may take for the end of a line. */
const LINE_BREAK = new RegExp('\\r\\n|[\\n\\r\\v\\f\\u0085\\u2028\\u2029]', 'u');

describe('bridge: what items put in its log lines', () => {
  let world: BridgeWorld;
  let child: BridgeProcess | undefined;
  afterEach(async () => {
    await killBridgeProcess(child);
    child = undefined;
    await world.cleanup();
  });

  it('an item cannot forge a log line ([ESCALAR]) nor flood the log: fragments are escaped and cut', async () => {
    world = new BridgeWorld();
    const bigId = `big-${'x'.repeat(1_000_000)}\n[ESCALAR] forged`;
    const items = [
      // Not JSON: JSON.parse's error quotes the item, newline included.
      '\n[ESCALAR] forged: 322 jobs → criando 5 worker(s)',
      // A scheduling field whose value the detail repeats (U+2028 is a line break for many readers).
      JSON.stringify({ prioridade: 'x\u2028[ESCALAR] forged' }),
      // Duplicate ids are logged: twice in one batch, once with a ~1 MB id (just under maxItemBytes).
      JSON.stringify({ id: 'dup\u2028[ESCALAR] forged', n: 1 }),
      JSON.stringify({ id: 'dup\u2028[ESCALAR] forged', n: 2 }),
      JSON.stringify({ id: bigId, n: 3 }),
      JSON.stringify({ id: bigId, n: 4 }),
      JSON.stringify({ id: 'after', n: 5 }),
    ];
    await world.redis.rpush(world.queue.sourceList, ...items);
    child = startBridgeProcess(world, { BRIDGE_ID: `log-${world.name}` });
    await waitFor(async () => (await world.jobCount()) === 3, { what: 'the three distinct valid items bridged' });
    await waitFor(async () => (await world.redis.llen(world.queue.invalidList)) === 2, { what: 'two invalid' });
    const logged = (): string => child?.output.join('') ?? '';
    await waitFor(() => (logged().match(/id duplicado/g) ?? []).length === 2, { what: 'two duplicate lines' });

    const lines = logged().split(LINE_BREAK);
    // The item's text did reach the log (the test would pass for nothing otherwise)...
    const invalidLines = lines.filter((l) => l.includes('item inválido'));
    expect(invalidLines).toHaveLength(2);
    for (const line of invalidLines) expect(line).toContain('[ESCALAR] f');
    // ...but never at the start of a line, where `grep "^.*\[ESCALAR\]"` tools and people look.
    expect(lines.filter((l) => /^\s*\[ESCALAR\]/.test(l))).toEqual([]);
    // Every line the bridge wrote is one of its own, `[<time>] <level>: ...`.
    expect(lines.filter((l) => l.trim() !== '' && !/^\[\d{4}-\d\d-\d\d[ T]/.test(l))).toEqual([]);
    // The ~1 MB id is cut to a few hundred characters, with its length and a short hash.
    const bigLine = lines.find((l) => l.includes('id duplicado') && l.includes('big-'));
    expect(bigLine?.length).toBeLessThan(1000);
    expect(bigLine).toMatch(/bytes, sha1 [0-9a-f]{8}\]/);

    // The invalid entries' details are bounded and on one line too.
    const entries = (await world.redis.lrange(world.queue.invalidList, 0, -1)).map(
      (t) => JSON.parse(t) as { reason: string; detail: string },
    );
    expect(entries.map((e) => e.reason)).toEqual(['not-json', 'bad-prioridade']);
    for (const e of entries) {
      expect(LINE_BREAK.test(e.detail)).toBe(false);
      expect(e.detail.length).toBeLessThan(400);
    }
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
  });
});
