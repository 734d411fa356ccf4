import { describe, expect, it } from 'vitest';
import { fenceDue, SelfFence } from '../../../src/cluster/self-fence.js';

/** A fence on a clock the test moves (lease 6 s, renewed every 2 s: fences past 4 s of silence). */
function makeFence() {
  let now = 10_000;
  const fences: number[] = [];
  const fence = new SelfFence({
    ttlMs: 6000,
    renewEveryMs: 2000,
    clock: () => now,
    wallClock: () => 1_700_000_000_000 + now,
    onFence: (cause) => fences.push(cause.kind === 'silent' ? cause.silentMs : -1),
  });
  return { fence, fences, at: (ms: number) => (now = ms) };
}

describe('self-fencing', () => {
  it('is due once the silence passes the lease minus one renewal interval', () => {
    expect(fenceDue(0, 4000, 6000, 2000)).toBe(false);
    expect(fenceDue(0, 4001, 6000, 2000)).toBe(true);
    // A clock that jumps backwards never fences.
    expect(fenceDue(5000, 1000, 6000, 2000)).toBe(false);
  });

  it('never fences before a first renewal, fences once, from the sending of the last renewal', () => {
    const { fence, fences, at } = makeFence();
    at(50_000);
    fence.check();
    expect(fence.fenced).toBe(false);
    fence.renewed(10_000);
    at(12_000);
    fence.renewed(11_900); // a late answer to an earlier beat does not move the renewal back
    fence.renewed(12_000);
    at(16_000);
    fence.check();
    expect(fence.fenced).toBe(false);
    at(16_050);
    fence.check();
    at(17_000);
    fence.check();
    expect(fences).toEqual([4050]);
    expect(fence.state()).toMatchObject({
      fenced: true,
      lastRenewalAt: 1_700_000_012_000,
      fencedAt: 1_700_000_016_050,
      unitsClosedAt: undefined,
      leaseMs: 6000,
    });
    at(16_300);
    fence.unitsClosed();
    at(16_900);
    fence.unitsClosed();
    expect(fence.state().unitsClosedAt).toBe(1_700_000_016_300);
  });

  it('lifts the fence only with a renewal sent after it started', () => {
    const { fence, fences, at } = makeFence();
    fence.renewed(10_000);
    at(14_500);
    fence.check();
    expect(fence.fenced).toBe(true);
    // The beat that hung on the unreachable Redis answers at last: sent before the fence.
    at(20_000);
    expect(fence.renewed(11_000)).toBe(false);
    expect(fence.fenced).toBe(true);
    expect(fence.renewed(20_000)).toBe(true);
    expect(fence.state()).toMatchObject({ fenced: false, fencedAt: undefined, unitsClosedAt: undefined });
    // And fences again after a new silence.
    at(24_100);
    fence.check();
    expect(fences).toEqual([4500, 4100]);
  });

  it('fences at once when Redis refuses a beat, once, and lifts with a renewal sent after', () => {
    const { fence, fences, at } = makeFence();
    const refusal = { kind: 'other-pool', pool: 'a+b' } as const;
    fence.renewed(10_000);
    at(11_000);
    fence.fenceNow(refusal);
    expect(fence.fenced).toBe(true);
    expect(fence.cause).toEqual({ kind: 'refused', refusal });
    expect(fence.state().fencedAt).toBe(1_700_000_011_000);
    at(16_000);
    fence.fenceNow(refusal);
    fence.check(); // the silence is past the threshold too: still the one fence
    expect(fences).toEqual([-1]);
    expect(fence.renewed(10_500)).toBe(false);
    expect(fence.renewed(16_000)).toBe(true);
    expect(fence.fenced).toBe(false);
    expect(fence.cause).toBeUndefined();
  });
});
