import { describe, expect, it } from 'vitest';
import {
  decideScale,
  EMPTY_MEMORY,
  workersForPending,
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
const cpu2: CapacityBound = { units: 2, reason: 'CPU 97% (2 núcleos)', overloaded: false };

describe('decideScale with capacity', () => {
  it('the seed scenario on 2 cores: the rule asks 7 + 1, capacity gives 1 + 1 and says why', () => {
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 0 },
        { queue: 'emissao', pending: 3, current: 0 },
      ],
      limits,
      EMPTY_MEMORY,
      0,
      cpu2,
    );
    const conf = plans.find((p) => p.queue === 'conferencia')!;
    expect(conf).toMatchObject({ wanted: 7, target: 1, action: 'up', bound: 'capacity' });
    expect(conf.reason).toBe('a regra pede 7; limitado pela capacidade: CPU 97% (2 núcleos) → 1');
    expect(plans.find((p) => p.queue === 'emissao')).toMatchObject({ wanted: 1, target: 1, bound: 'rule' });
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
      { units: 1, reason: 'CPU 100% (2 núcleos, 1,9 usados por outros processos)', overloaded: false },
    );
    expect(plans.map((p) => [p.queue, p.target])).toEqual([
      ['conferencia', 1],
      ['emissao', 1],
    ]);
  });

  it('capacity.enabled false (no bound passed) is the plain rule', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 322, current: 0 }], limits, EMPTY_MEMORY, 0);
    expect(plans[0]).toMatchObject({ target: 7, bound: 'rule', divisor: 50 });
    expect(plans[0]?.reason).toBe('ceil(322/50) limitado a [mín, máx] = 7');
  });

  it('lower capacity retires at once, without the stabilization window', () => {
    const { plans, memory } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 2 }],
      limits,
      EMPTY_MEMORY,
      0,
      { units: 1, reason: 'CPU 100% (2 núcleos, 1,1 usados por outros processos)', overloaded: true },
    );
    expect(plans[0]).toMatchObject({ target: 1, action: 'down', bound: 'capacity' });
    expect(memory.excessSince).toEqual({});
  });

  it('the gate: an overloaded machine starts no unit, but keeps those it has', () => {
    const overloaded: CapacityBound = {
      units: 4,
      reason: 'CPU 99% (4 núcleos)',
      overloaded: true,
      overloadReason: 'CPU 99% (4 núcleos)',
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
    expect(plans[0]?.reason).toBe('a regra pede 7; máquina sobrecarregada (CPU 99% (4 núcleos)): nenhum worker novo');
  });

  it('the gate lets one unit per queue start while the instance runs none (work keeps moving)', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 322, current: 0 }], limits, EMPTY_MEMORY, 0, {
      units: 2,
      reason: 'x',
      overloaded: true,
    });
    expect(plans[0]).toMatchObject({ target: 1, action: 'up', bound: 'overload' });
  });

  it('rises again when capacity allows', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 322, current: 1 }], limits, EMPTY_MEMORY, 0, {
      units: 3,
      reason: 'CPU 40% (4 núcleos)',
      overloaded: false,
    });
    expect(plans[0]).toMatchObject({ target: 3, action: 'up', bound: 'capacity' });
  });

  it('capacity above the rule changes nothing', () => {
    const { plans } = decideScale([{ queue: 'conferencia', pending: 100, current: 2 }], limits, EMPTY_MEMORY, 0, {
      units: 16,
      reason: 'CPU 10% (16 núcleos)',
      overloaded: false,
    });
    expect(plans[0]).toMatchObject({ target: 2, action: 'hold', bound: 'rule' });
  });
});

describe('the learned divisor (jobsPerWorker "auto")', () => {
  const auto: QueueLimits = { ...seed, targetDrainSeconds: 600 };
  const autoLimits: ScaleLimits = { ...limits, queues: { conferencia: auto }, minJobSamples: 20 };

  it('workers = ceil(pending × S / T)', () => {
    expect(workersForPending(322, auto, 0.25)).toBe(1);
    expect(workersForPending(322, auto, 10)).toBe(6);
    expect(workersForPending(6000, auto, 1)).toBe(10); // clamped to maxWorkers
    expect(workersForPending(600, auto, 1)).toBe(1); // exactly T of work: one worker, no float drift
  });

  it('until ~20 samples exist, the fixed divisor applies', () => {
    const few = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 0, jobTime: { seconds: 10, samples: 19 } }],
      autoLimits,
      EMPTY_MEMORY,
      0,
    );
    expect(few.plans[0]).toMatchObject({ target: 7, divisor: 50 });
    const enough = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 0, jobTime: { seconds: 10, samples: 20 } }],
      autoLimits,
      EMPTY_MEMORY,
      0,
    );
    expect(enough.plans[0]).toMatchObject({ target: 6, divisor: 60 });
    expect(enough.plans[0]?.reason).toBe('ceil(322×10s/600s), divisor aprendido 60, limitado a [mín, máx] = 6');
  });

  it('a queue without "auto" ignores job times', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 0, jobTime: { seconds: 10, samples: 200 } }],
      { ...limits, minJobSamples: 20 },
      EMPTY_MEMORY,
      0,
    );
    expect(plans[0]).toMatchObject({ target: 7, divisor: 50 });
  });

  it('still bounded by capacity', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 3000, current: 0, jobTime: { seconds: 2, samples: 50 } }],
      autoLimits,
      EMPTY_MEMORY,
      0,
      cpu2,
    );
    expect(plans[0]).toMatchObject({ wanted: 10, target: 2, bound: 'capacity', divisor: 300 });
  });
});
