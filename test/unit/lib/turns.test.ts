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
    const first = await turns.take(undefined, 1);
    const granted: string[] = [];
    const asks = [
      ['conferencia-2', 2],
      ['conferencia-3', 3],
      ['emissao-1', 1],
      ['emissao-2', 2],
    ] as const;
    const all = asks.map(([name, rank]) =>
      turns.take(undefined, rank).then((release) => {
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
    const left = turns.take(retired.signal);
    const next = turns.take();
    retired.abort();
    expect(await left).toBeUndefined();
    expect(turns.waiting).toBe(1);
    first?.();
    expect(typeof (await next)).toBe('function'); // the one behind it got the turn
    expect(await turns.take(AbortSignal.abort())).toBeUndefined();
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
});
