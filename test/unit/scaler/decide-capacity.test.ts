import { describe, expect, it } from 'vitest';
import {
  decideScale,
  EMPTY_MEMORY,
  type CapacityBound,
  type QueueLimits,
  type ScaleLimits,
} from '../../../src/scaler/decide.js';

const seed: QueueLimits = { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10 };
const limits: ScaleLimits = {
  queues: { conferencia: seed, emissao: seed },
  maxTotalWorkers: 20,
  stabilizationMs: 60_000,
};

/** One instance on 2 cores, nothing else running: 1.9 free cores; `perUnit` measured per queue. */
function cpuBound(
  perUnit: Record<string, number>,
  over: Partial<NonNullable<CapacityBound['cpu']>> = {},
): CapacityBound {
  return {
    units: Infinity,
    limit: { signal: 'none' },
    cpu: { cores: 2, freeCores: 1.9, otherCores: 0, maxCpuRatio: 0.95, perUnit, overloaded: false, ...over },
    overloaded: false,
  };
}

describe('decideScale with capacity', () => {
  it('the seed scenario with browsers of ~0.8 core: the rule asks 7 + 1, capacity gives 1 + 1 and says why', () => {
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 0 },
        { queue: 'emissao', pending: 3, current: 0 },
      ],
      limits,
      EMPTY_MEMORY,
      0,
      cpuBound({ conferencia: 0.8, emissao: 0.8 }),
    );
    const conf = plans.find((p) => p.queue === 'conferencia')!;
    expect(conf).toMatchObject({ wanted: 7, target: 1, action: 'up', bound: 'capacity' });
    expect(conf.reason).toMatchObject({
      kind: 'capacity',
      wanted: 7,
      given: 1,
      limit: { signal: 'cpu', freeCores: 1.9, perUnit: 0.8 },
    });
    expect(plans.find((p) => p.queue === 'emissao')).toMatchObject({ wanted: 1, target: 1, bound: 'rule' });
  });

  it('before a queue has a measurement, the rule runs (the gate watches)', () => {
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 0 },
        { queue: 'emissao', pending: 3, current: 0 },
      ],
      limits,
      EMPTY_MEMORY,
      0,
      cpuBound({}),
    );
    expect(plans.map((p) => [p.queue, p.target, p.bound])).toEqual([
      ['conferencia', 7, 'rule'],
      ['emissao', 1, 'rule'],
    ]);
  });

  it('capacity below the number of queues with work still gives each queue one unit (no starvation)', () => {
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 1 },
        { queue: 'emissao', pending: 3, current: 0 },
      ],
      limits,
      EMPTY_MEMORY,
      0,
      cpuBound({ conferencia: 0.9, emissao: 0.9 }, { freeCores: 0.2, otherCores: 1.7, overloaded: true }),
    );
    expect(plans.map((p) => [p.queue, p.target])).toEqual([
      ['conferencia', 1],
      ['emissao', 1],
    ]);
  });

  it('capacity.enabled false (no bound passed) is the plain rule', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 322, current: 0 }], limits, EMPTY_MEMORY, 0);
    expect(plans[0]).toMatchObject({ target: 7, bound: 'rule', divisor: 50 });
  });

  it('while the CPU is overloaded, running units are cut at once to what fits, without the stabilization window', () => {
    const { plans, memory } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 7 }],
      limits,
      EMPTY_MEMORY,
      0,
      { ...cpuBound({ conferencia: 0.8 }, { overloaded: true }), overloaded: true },
    );
    expect(plans[0]).toMatchObject({ target: 2, action: 'down', bound: 'capacity' });
    expect(memory.excessSince).toEqual({});
  });

  it('overloaded while the rule itself declines to what fits: the cut is capacity’s, at once, not the window’s', () => {
    // 100 pending → the rule asks 2; 2 units of 0.8 core fit in 1.9 free cores; 7 run.
    const { plans, memory } = decideScale(
      [{ queue: 'conferencia', pending: 100, current: 7 }],
      limits,
      EMPTY_MEMORY,
      0,
      { ...cpuBound({ conferencia: 0.8 }, { overloaded: true }), overloaded: true },
    );
    expect(plans[0]).toMatchObject({ wanted: 2, target: 2, action: 'down', bound: 'capacity' });
    expect(plans[0]?.reason).toMatchObject({ kind: 'capacity', given: 2, limit: { signal: 'cpu', perUnit: 0.8 } });
    expect(memory.excessSince).toEqual({});
  });

  it('overloaded while the rule asks fewer than fit: down to what fits at once, the rest waits its window', () => {
    // 40 pending → the rule asks 1; 2 fit; 7 run: 7 → 2 now (capacity), 2 → 1 after the window.
    const bound = { ...cpuBound({ conferencia: 0.8 }, { overloaded: true }), overloaded: true };
    const first = decideScale([{ queue: 'conferencia', pending: 40, current: 7 }], limits, EMPTY_MEMORY, 0, bound);
    expect(first.plans[0]).toMatchObject({ wanted: 1, target: 2, action: 'down', bound: 'capacity' });
    const next = decideScale([{ queue: 'conferencia', pending: 40, current: 2 }], limits, first.memory, 1_000, bound);
    expect(next.plans[0]).toMatchObject({ target: 2, action: 'hold', bound: 'stabilizing' });
    const later = decideScale(
      [{ queue: 'conferencia', pending: 40, current: 2 }],
      limits,
      next.memory,
      1_000 + limits.stabilizationMs,
      bound,
    );
    expect(later.plans[0]).toMatchObject({ target: 1, action: 'down' });
  });

  it('not overloaded, the rule declining: the window holds the excess as without capacity', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 100, current: 7 }],
      limits,
      EMPTY_MEMORY,
      0,
      cpuBound({ conferencia: 0.8 }),
    );
    expect(plans[0]).toMatchObject({ wanted: 2, target: 7, action: 'hold', bound: 'stabilizing' });
  });

  it('not overloaded: units running are kept even when the estimate says fewer fit (the machine shows room)', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 5 }],
      limits,
      EMPTY_MEMORY,
      0,
      cpuBound({ conferencia: 0.8 }),
    );
    expect(plans[0]).toMatchObject({ target: 5, action: 'hold', bound: 'capacity' });
  });

  it('a unit bound (memory, maxUnits) cuts whatever the CPU says', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 322, current: 4 }], limits, EMPTY_MEMORY, 0, {
      ...cpuBound({}),
      units: 2,
      limit: { signal: 'memoryBudget', budgetMb: 350, unitMb: 175 },
    });
    expect(plans[0]).toMatchObject({ target: 2, action: 'down', bound: 'capacity' });
    expect(plans[0]?.reason).toMatchObject({ limit: { signal: 'memoryBudget', budgetMb: 350 } });
  });

  it('the gate: an overloaded machine starts no unit, but keeps those it has', () => {
    const overloaded: CapacityBound = {
      ...cpuBound({}),
      overloaded: true,
      overload: { signal: 'eventLoop', delayMs: 900 },
    };
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 1 },
        { queue: 'emissao', pending: 3, current: 0 },
      ],
      limits,
      EMPTY_MEMORY,
      0,
      overloaded,
    );
    expect(plans.find((p) => p.queue === 'conferencia')).toMatchObject({
      target: 1,
      action: 'hold',
      bound: 'overload',
    });
    expect(plans.find((p) => p.queue === 'emissao')).toMatchObject({ target: 0, action: 'hold', bound: 'overload' });
    expect(plans[0]?.reason).toEqual({
      kind: 'overload',
      rule: { kind: 'fixed', pending: 322, jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10, workers: 7 },
      wanted: 7,
      overload: { signal: 'eventLoop', delayMs: 900 },
      firstOnly: false,
    });
  });

  it('the gate lets one unit per queue start while the instance runs none (work keeps moving)', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 322, current: 0 }], limits, EMPTY_MEMORY, 0, {
      ...cpuBound({}),
      overloaded: true,
    });
    expect(plans[0]).toMatchObject({ target: 1, action: 'up', bound: 'overload', reason: { firstOnly: true } });
  });

  it('capacity above the rule changes nothing', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 100, current: 2 }],
      limits,
      EMPTY_MEMORY,
      0,
      cpuBound({ conferencia: 0.05 }),
    );
    expect(plans[0]).toMatchObject({ target: 2, action: 'hold', bound: 'rule' });
  });
});

describe('a queue’s rateLimit (jobs per duration, BullMQ’s limiter)', () => {
  it('no more units than the rate keeps busy: 30 jobs/min of 4 s each keep 2 busy', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 0, jobTime: { seconds: 4, samples: 3 } }],
      { ...limits, queues: { conferencia: { ...seed, rateLimit: { max: 30, durationMs: 60_000 } } } },
      EMPTY_MEMORY,
      0,
    );
    expect(plans[0]).toMatchObject({ wanted: 7, target: 2, bound: 'rateLimit' });
    expect(plans[0]?.reason).toMatchObject({ kind: 'rateLimit', given: 2, max: 30, durationMs: 60_000, jobSeconds: 4 });
  });

  it('before any job time, the limiter alone holds the rate (the rule runs)', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 0 }],
      { ...limits, queues: { conferencia: { ...seed, rateLimit: { max: 30, durationMs: 60_000 } } } },
      EMPTY_MEMORY,
      0,
    );
    expect(plans[0]).toMatchObject({ target: 7, bound: 'rule' });
  });
});
