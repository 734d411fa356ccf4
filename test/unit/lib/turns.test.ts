import { describe, expect, it } from 'vitest';
import { Turns } from '../../../src/lib/turns.js';

describe('Turns (browser launches paced)', () => {
  it('grants at most the limit at once, the rest in the order they asked; a release lets the next in', async () => {
    const turns = new Turns(() => 2);
    const granted: string[] = [];
    const take = (name: string) =>
      turns.take().then((release) => {
        granted.push(name);
        return release;
      });
    const a = take('a');
    const b = take('b');
    const c = take('c');
    const d = take('d');
    const releaseA = await a;
    await b;
    expect(granted).toEqual(['a', 'b']);
    expect(turns.held).toBe(2);
    expect(turns.waiting).toBe(2);
    releaseA?.();
    releaseA?.(); // idempotent: one release lets one more in
    await c;
    expect(granted).toEqual(['a', 'b', 'c']);
    expect(turns.held).toBe(2);
    expect(turns.waiting).toBe(1);
    void d;
  });

  it("the lowest rank goes first, in the order asked within a rank (each queue's first unit before the rest)", async () => {
    const turns = new Turns(() => 1);
    const first = await turns.take({ rank: 1 });
    const granted: string[] = [];
    const asks = [
      ['conferencia-2', 2],
      ['conferencia-3', 3],
      ['emissao-1', 1],
      ['emissao-2', 2],
    ] as const;
    const all = asks.map(([name, rank]) =>
      turns.take({ rank }).then((release) => {
        granted.push(name);
        release?.();
      }),
    );
    first?.();
    await Promise.all(all);
    expect(granted).toEqual(['emissao-1', 'conferencia-2', 'emissao-2', 'conferencia-3']);
  });

  it('a caller whose signal aborts leaves the line with no turn; an aborted signal never takes one', async () => {
    const turns = new Turns(() => 1);
    const first = await turns.take();
    const retired = new AbortController();
    const left = turns.take({ signal: retired.signal });
    const next = turns.take();
    retired.abort();
    expect(await left).toBeUndefined();
    expect(turns.waiting).toBe(1);
    first?.();
    expect(typeof (await next)).toBe('function'); // the one behind it got the turn
    expect(await turns.take({ signal: AbortSignal.abort() })).toBeUndefined();
  });

  it('reads the limit at every grant (it follows the machine), at least one', async () => {
    let limit = 0;
    const turns = new Turns(() => limit);
    const one = await turns.take(); // a limit of 0 still lets one in
    let second: (() => void) | undefined;
    const waiting = turns.take().then((r) => (second = r));
    await Promise.resolve();
    expect(second).toBeUndefined();
    limit = 2;
    one?.(); // the next grant reads 2
    await waiting;
    expect(turns.held).toBe(1);
    const third = await turns.take();
    expect(turns.held).toBe(2);
    third?.();
    second?.();
    expect(turns.held).toBe(0);
  });

  it('a paused group waits unless alone (nothing of it working or launching); others pass it; a recheck lets it in', async () => {
    const pausedGroups = new Set(['conferencia', 'emissao', 'triagem']);
    const turns = new Turns(() => 3);
    turns.pauseWhile((group) => group !== undefined && pausedGroups.has(group));
    const working: Record<string, number> = { conferencia: 1, emissao: 0, triagem: 0 };
    const granted: string[] = [];
    const releases = new Map<string, () => void>();
    const ask = (group: string, rank: number) =>
      turns.take({ rank, group, alone: () => working[group] === 0 }).then((release) => {
        granted.push(`${group}-${rank}`);
        if (release) releases.set(`${group}-${rank}`, release);
      });
    const all = [ask('conferencia', 2), ask('emissao', 1), ask('emissao', 2), ask('triagem', 1), ask('triagem', 2)];
    await Promise.resolve();
    // conferencia has a unit at work; emissao-1 and triagem-1 are alone; each one's second is not,
    // since its first holds a turn.
    expect(granted).toEqual(['emissao-1', 'triagem-1']);
    expect(turns.waiting).toBe(3);
    expect(turns.paused).toBe(true); // a turn is free, and all three wait
    working.emissao = 1; // ready (it gives its turn back once ready): emissao works, its second waits too
    releases.get('emissao-1')?.();
    await Promise.resolve();
    expect(granted).toEqual(['emissao-1', 'triagem-1']);
    turns.recheck(); // still paused: nothing changes
    await Promise.resolve();
    expect(turns.waiting).toBe(3);
    pausedGroups.delete('emissao'); // emissao has room: it passes conferencia, still paused
    turns.recheck();
    await Promise.resolve();
    expect(granted).toEqual(['emissao-1', 'triagem-1', 'emissao-2']);
    pausedGroups.clear();
    turns.recheck();
    await Promise.resolve();
    // one turn free (triagem-1 and emissao-2 hold two), the lowest rank first, in the order asked
    expect(granted).toEqual(['emissao-1', 'triagem-1', 'emissao-2', 'conferencia-2']);
    expect(turns.paused).toBe(false);
    for (const release of releases.values()) release();
    await Promise.all(all);
    expect(granted.at(-1)).toBe('triagem-2');
    expect(turns.held).toBe(1); // triagem-2's own turn
  });

  it('paused, a caller without a group (or without `alone`) waits for the pause to lift', async () => {
    let paused = true;
    const turns = new Turns(() => 1);
    turns.pauseWhile(() => paused);
    let granted = 0;
    const plain = turns.take().then((r) => {
      granted += 1;
      r?.();
    });
    const noAlone = turns.take({ group: 'conferencia' }).then((r) => {
      granted += 1;
      r?.();
    });
    await Promise.resolve();
    expect(granted).toBe(0);
    expect(turns.waiting).toBe(2);
    expect(turns.paused).toBe(true);
    paused = false;
    turns.recheck();
    await Promise.all([plain, noAlone]);
    expect(granted).toBe(2);
    expect(turns.held).toBe(0);
    expect(turns.paused).toBe(false);
  });
});
