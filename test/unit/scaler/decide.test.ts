import { describe, expect, it } from 'vitest';
import {
  decideScale,
  EMPTY_MEMORY,
  shareFairly,
  workersForPending,
  type ScaleLimits,
} from '../../../src/scaler/decide.js';

const seed = { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10 };

function limits(queues: Record<string, typeof seed>, maxTotalWorkers = 20, stabilizationMs = 60_000): ScaleLimits {
  return { queues, maxTotalWorkers, stabilizationMs };
}

describe('workersForPending (the seed’s rule)', () => {
  it.each([
    [0, 0],
    [1, 1],
    [50, 1],
    [51, 2],
    [100, 2],
    [101, 3],
    [150, 3],
    [322, 7],
    [1000, 10],
  ])('%i pending → %i workers', (pending, workers) => {
    expect(workersForPending(pending, seed)).toBe(workers);
  });

  it('applies per-queue overrides of divisor, floor and ceiling', () => {
    expect(workersForPending(322, { jobsPerWorker: 100, minWorkers: 0, maxWorkers: 10 })).toBe(4);
    expect(workersForPending(0, { jobsPerWorker: 50, minWorkers: 2, maxWorkers: 10 })).toBe(2);
    expect(workersForPending(1000, { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 3 })).toBe(3);
  });
});

describe('shareFairly', () => {
  it('splits 20 among three queues wanting 10 each, summing to 20, deterministically', () => {
    const shares = shareFairly({ c: 10, a: 10, b: 10 }, 20);
    expect(shares).toEqual({ a: 7, b: 7, c: 6 });
    expect(Object.values(shares).reduce((s, n) => s + n, 0)).toBe(20);
  });

  it('gives what a small queue does not need to the hungry ones', () => {
    expect(shareFairly({ a: 1, b: 10, c: 10 }, 20)).toEqual({ a: 1, b: 10, c: 9 });
    expect(shareFairly({ a: 2, b: 30 }, 20)).toEqual({ a: 2, b: 18 });
  });

  it('never starves a queue and never exceeds the total', () => {
    const shares = shareFairly({ a: 1, b: 1, c: 1, d: 10 }, 3);
    expect(Object.values(shares).reduce((s, n) => s + n, 0)).toBe(3);
    expect(shareFairly({ a: 3, b: 3 }, 100)).toEqual({ a: 3, b: 3 });
    expect(shareFairly({ a: 5 }, 0)).toEqual({ a: 0 });
  });
});

describe('decideScale', () => {
  it('scales the seed’s scenario up at once: 322 + 3 → 7 and 1', () => {
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 0 },
        { queue: 'emissao', pending: 3, current: 0 },
      ],
      limits({ conferencia: seed, emissao: seed }),
      EMPTY_MEMORY,
      1_000,
    );
    expect(plans.map((p) => [p.queue, p.target, p.action])).toEqual([
      ['conferencia', 7, 'up'],
      ['emissao', 1, 'up'],
    ]);
  });

  it('caps three queues wanting 10 each at a fair 20 in all', () => {
    const { plans } = decideScale(
      ['q1', 'q2', 'q3'].map((queue) => ({ queue, pending: 1000, current: 0 })),
      limits({ q1: seed, q2: seed, q3: seed }),
      EMPTY_MEMORY,
      0,
    );
    expect(plans.map((p) => p.target)).toEqual([7, 7, 6]);
    expect(plans.every((p) => p.wanted === 10)).toBe(true);
  });

  it('holds a scale-down until the excess has lasted the window, then applies it', () => {
    const l = limits({ q: seed }, 20, 60_000);
    const at = (now: number, memory = EMPTY_MEMORY) =>
      decideScale([{ queue: 'q', pending: 20, current: 7 }], l, memory, now);
    const first = at(100_000);
    expect(first.plans[0]).toMatchObject({ desired: 1, target: 7, action: 'hold' });
    const midway = at(130_000, first.memory);
    expect(midway.plans[0]).toMatchObject({ target: 7, action: 'hold' });
    const done = at(160_000, midway.memory);
    expect(done.plans[0]).toMatchObject({ target: 1, action: 'down' });
  });

  it('restarts the window when the clock jumps backwards instead of scaling down early', () => {
    const l = limits({ q: seed }, 20, 60_000);
    const obs = [{ queue: 'q', pending: 0, current: 3 }];
    const first = decideScale(obs, l, EMPTY_MEMORY, 500_000);
    // The clock jumps back an hour: the excess must not look an hour old (nor negative forever).
    const back = decideScale(obs, l, first.memory, 500_000 - 3_600_000);
    expect(back.plans[0]).toMatchObject({ target: 3, action: 'hold' });
    const stillWaiting = decideScale(obs, l, back.memory, 500_000 - 3_600_000 + 59_000);
    expect(stillWaiting.plans[0]?.action).toBe('hold');
    const after = decideScale(obs, l, stillWaiting.memory, 500_000 - 3_600_000 + 60_000);
    expect(after.plans[0]).toMatchObject({ target: 0, action: 'down' });
  });

  it('forgets the excess when the backlog comes back', () => {
    const l = limits({ q: seed }, 20, 60_000);
    const low = decideScale([{ queue: 'q', pending: 10, current: 4 }], l, EMPTY_MEMORY, 0);
    const high = decideScale([{ queue: 'q', pending: 200, current: 4 }], l, low.memory, 30_000);
    expect(high.memory.excessSince).toEqual({});
    const lowAgain = decideScale([{ queue: 'q', pending: 10, current: 4 }], l, high.memory, 70_000);
    expect(lowAgain.plans[0]?.action).toBe('hold'); // a new window started at 70 s
  });

  it('releases a stabilizing excess at once when another queue needs the room', () => {
    const l = limits({ a: seed, b: seed }, 10, 60_000);
    const { plans } = decideScale(
      [
        { queue: 'a', pending: 0, current: 8 },
        { queue: 'b', pending: 500, current: 2 },
      ],
      l,
      EMPTY_MEMORY,
      0,
    );
    expect(plans.find((p) => p.queue === 'a')).toMatchObject({ target: 0, action: 'down' });
    expect(plans.find((p) => p.queue === 'b')).toMatchObject({ target: 10, action: 'up' });
  });

  it('keeps minWorkers even with nothing pending', () => {
    const { plans } = decideScale(
      [{ queue: 'q', pending: 0, current: 0 }],
      limits({ q: { jobsPerWorker: 50, minWorkers: 2, maxWorkers: 5 } }),
      EMPTY_MEMORY,
      0,
    );
    expect(plans[0]).toMatchObject({ target: 2, action: 'up' });
  });
});

describe('decision reasons (data: the bound and its numbers; logging/ words them)', () => {
  it('gives each case as structured data', () => {
    const l = limits({ a: seed, b: seed }, 4, 60_000);
    const rule = decideScale([{ queue: 'a', pending: 120, current: 0 }], limits({ a: seed }), EMPTY_MEMORY, 0);
    expect(rule.plans[0]).toMatchObject({ bound: 'rule' });
    expect(rule.plans[0]?.reason).toEqual({
      kind: 'rule',
      rule: { kind: 'fixed', pending: 120, jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10, workers: 3 },
    });
    const capped = decideScale(
      [
        { queue: 'a', pending: 500, current: 0 },
        { queue: 'b', pending: 500, current: 0 },
      ],
      l,
      EMPTY_MEMORY,
      0,
    );
    expect(capped.plans[0]?.reason).toMatchObject({ kind: 'total', wanted: 10, maxTotalWorkers: 4, given: 2 });
    const waiting = decideScale([{ queue: 'a', pending: 0, current: 2 }], limits({ a: seed }), EMPTY_MEMORY, 0);
    expect(waiting.plans[0]?.reason).toEqual({ kind: 'stabilizing', excess: 2, elapsedSeconds: 0, windowSeconds: 60 });
    const released = decideScale(
      [
        { queue: 'a', pending: 0, current: 4 },
        { queue: 'b', pending: 500, current: 0 },
      ],
      l,
      { excessSince: { a: 0 } },
      1000,
    );
    expect(released.plans[0]).toMatchObject({ bound: 'total', reason: { kind: 'released', excess: 4 } });
  });
});
