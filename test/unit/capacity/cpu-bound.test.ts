import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { computeCapacity } from '../../../src/capacity/capacity.js';
import type { TreeCpuReading } from '../../../src/capacity/tree-cpu.js';
import { UnitCost } from '../../../src/capacity/unit-cost.js';
import { UnitCpu, type QueueCpu, type TrackedUnit } from '../../../src/capacity/unit-cpu.js';
import { summarize, type LoadSample } from '../../../src/capacity/windows.js';
import { decideScale, EMPTY_MEMORY, type CapacityBound, type ScaleLimits } from '../../../src/scaler/decide.js';
import type { UnitState } from '../../../src/workers/unit-state.js';
import { capacityDefaults } from '../../helpers/capacity-defaults.js';

const T = { maxCpuRatio: 0.95, maxMemoryRatio: 0.9, maxEventLoopDelayMs: 250 };
const seed = { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10 };

/** A 2-core machine's windows: `ours` cores used by us, `others` by other processes. */
function windows(ours: number, others = 0) {
  const s: LoadSample = {
    at: 1,
    cores: 2,
    cpuRatio: Math.min(1, (ours + others) / 2),
    ourCores: ours,
    memoryUsedMb: 2000,
    memoryLimitMb: 64_000,
    browserMb: 0,
    browsersMeasured: 0,
    eventLoopDelayMs: 5,
  };
  const w = summarize([s], T);
  return { short: w, long: w };
}

/** The bound the decision sees, from windows and measured costs (what the service wires). */
function bound(
  ours: number,
  perUnit: Record<string, number>,
  units: Record<string, number>,
  others = 0,
): CapacityBound {
  const c = computeCapacity({ ...windows(ours, others), units, perUnit }, capacityDefaults());
  return {
    units: c.otherUnits,
    limit: c.otherLimit,
    ...(c.cpu ? { cpu: c.cpu } : {}),
    overloaded: c.overloaded,
    ...(c.overload ? { overload: c.overload } : {}),
  };
}

/** Feeds `seconds` one-second samples to a fresh estimator. */
function estimate(seconds: number, sample: (i: number) => Record<string, QueueCpu>): UnitCost {
  const cost = new UnitCost({ halfLifeBusySeconds: 30, minBusySeconds: 5 });
  for (let i = 0; i < seconds; i++) cost.add(sample(i));
  return cost;
}

const limits: ScaleLimits = {
  queues: { conferencia: seed, emissao: seed, ensaio: seed },
  maxTotalWorkers: 20,
  stabilizationMs: 60_000,
};

describe('the CPU bound from fake measurements', () => {
  it('I/O-bound (slow portal: 7 busy units use 0.35 core): the rule runs, 7 units', () => {
    const cost = estimate(10, () => ({ conferencia: { busySeconds: 7, cpuSeconds: 0.35, waitSeconds: 0 } }));
    expect(cost.perUnit().conferencia).toBeCloseTo(0.05);
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 7 }],
      limits,
      EMPTY_MEMORY,
      0,
      bound(0.4, cost.perUnit(), { conferencia: 7 }),
    );
    expect(plans[0]).toMatchObject({ target: 7, bound: 'rule' });
  });

  it('CPU-bound (8 units that want 0.8 core each squeezed onto 2): measured 0.8 through the run-queue wait, cut to 2', () => {
    // Each unit gets 1.9/8 = 0.24 core and waits for a CPU the rest of its running time:
    // busy 8 unit-s, CPU 1.9 s, wait 8 − 1.9/0.8 = 5.6 s per second.
    const cost = estimate(10, () => ({ conferencia: { busySeconds: 8, cpuSeconds: 1.9, waitSeconds: 5.625 } }));
    expect(cost.perUnit().conferencia).toBeCloseTo(0.8, 2);
    // Without the wait the estimate would fall with the crowd (0.24 per unit) and never cut.
    expect(estimate(10, () => ({ q: { busySeconds: 8, cpuSeconds: 1.9, waitSeconds: 0 } })).perUnit().q).toBeCloseTo(
      0.2375,
    );
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 300, current: 8 }],
      limits,
      EMPTY_MEMORY,
      0,
      bound(2, cost.perUnit(), { conferencia: 8 }),
    );
    expect(plans[0]).toMatchObject({ target: 2, action: 'down', bound: 'capacity' });
    expect(plans[0]?.reason).toMatchObject({ limit: { signal: 'cpu', perUnit: expect.closeTo(0.8, 2) as number } });
  });

  it('mixed queues: a CPU-bound queue gets what the CPU holds, the cheap ones get the rule', () => {
    const perUnit = { conferencia: 0.8, ensaio: 0.02, emissao: 0.1 };
    const { plans } = decideScale(
      [
        { queue: 'conferencia', pending: 322, current: 0 },
        { queue: 'emissao', pending: 30, current: 0 },
        { queue: 'ensaio', pending: 1000, current: 0 },
      ],
      limits,
      EMPTY_MEMORY,
      0,
      bound(0.2, perUnit, {}),
    );
    const target = Object.fromEntries(plans.map((p) => [p.queue, p.target]));
    // 1.9 free cores: ensaio 10 × 0.02 + emissao 1 × 0.1 + conferencia 2 × 0.8 = 1.9.
    expect(target).toEqual({ conferencia: 2, emissao: 1, ensaio: 10 });
    expect(plans.find((p) => p.queue === 'conferencia')?.bound).toBe('capacity');
    expect(plans.find((p) => p.queue === 'ensaio')?.bound).toBe('rule');
  });

  it('noisy samples: the estimate settles within 10% and the bound does not flap', () => {
    let seed32 = 12345;
    const random = (): number => {
      seed32 = (seed32 * 1103515245 + 12345) % 2 ** 31;
      return seed32 / 2 ** 31;
    };
    const cost = new UnitCost({ halfLifeBusySeconds: 30, minBusySeconds: 5 });
    const bounds: number[] = [];
    for (let i = 0; i < 120; i++) {
      // 2 busy units of 0.5 core, each second's reading off by up to ±60% (jobs start and end mid-sample).
      const busy = 2 * (0.4 + random() * 1.2);
      const cpu = busy * 0.5 * (0.4 + random() * 1.2);
      cost.add({ conferencia: { busySeconds: busy, cpuSeconds: cpu, waitSeconds: 0 } });
      const perUnit = cost.perUnit().conferencia;
      if (i >= 60 && perUnit !== undefined)
        bounds.push(
          computeCapacity(
            { ...windows(1), units: { conferencia: 2 }, perUnit: { conferencia: perUnit } },
            capacityDefaults(),
          ).units,
        );
    }
    expect(cost.perUnit().conferencia).toBeGreaterThan(0.45);
    expect(cost.perUnit().conferencia).toBeLessThan(0.55);
    expect(Math.max(...bounds) - Math.min(...bounds)).toBeLessThanOrEqual(1);
  });

  it('no measurement yet: a queue with less busy time than the minimum starts what the rule asks', () => {
    const cost = estimate(2, () => ({ conferencia: { busySeconds: 1, cpuSeconds: 0.9, waitSeconds: 0 } }));
    expect(cost.view().conferencia?.perUnit).toBeNull();
    expect(cost.perUnit()).toEqual({});
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 322, current: 0 }],
      limits,
      EMPTY_MEMORY,
      0,
      bound(0.1, cost.perUnit(), {}),
    );
    expect(plans[0]).toMatchObject({ target: 7, bound: 'rule' });
  });

  it('a neighbour that fills the machine: browsers yield to it, units waiting on a portal keep running', () => {
    const full = (perUnit: number) =>
      decideScale(
        [{ queue: 'conferencia', pending: 322, current: 7 }],
        limits,
        EMPTY_MEMORY,
        0,
        bound(0.1, { conferencia: perUnit }, { conferencia: 7 }, 1.95),
      ).plans[0];
    // cores × minFreeCpuRatio (0.2 of 2 cores) is always ours: 7 units of 0.01 core fit, browsers do not.
    expect(full(0.01)).toMatchObject({ target: 7, bound: 'rule' });
    expect(full(0.8)).toMatchObject({ target: 1, action: 'down', bound: 'capacity' });
  });

  it('a busy neighbour on both cores: free CPU falls, the overloaded machine cuts at once', () => {
    const { plans } = decideScale(
      [{ queue: 'conferencia', pending: 200, current: 2 }],
      limits,
      EMPTY_MEMORY,
      0,
      bound(0.9, { conferencia: 0.8 }, { conferencia: 2 }, 1.1),
    );
    expect(plans[0]).toMatchObject({ target: 1, action: 'down', bound: 'capacity' });
  });
});

/** A fake unit: a name, a state it moves through, a browser pid. */
class FakeUnit extends EventEmitter implements TrackedUnit {
  state: UnitState = 'starting';
  browserPid: number | undefined = undefined;
  constructor(readonly name: string) {
    super();
  }
  move(to: UnitState): void {
    const from = this.state;
    this.state = to;
    this.emit('state', to, from);
  }
}

/** A UnitCpu on a fake clock (`m.now`), this Node process's counter (`node`) and browser trees by pid (`trees`). */
function fakeMachine() {
  const m = {
    now: 0,
    node: { cpuSeconds: 0, waitSeconds: 0 },
    trees: new Map<number, { cpuSeconds: number; waitSeconds: number }>(),
  };
  const cpu = new UnitCpu({
    clock: () => m.now,
    nodeCpu: () => ({ ...m.node }),
    browserCpu: (pid) => ({
      pid,
      read: (): TreeCpuReading => ({ ...(m.trees.get(pid) ?? { cpuSeconds: 0, waitSeconds: 0 }) }),
    }),
  });
  return Object.assign(m, { cpu });
}

describe('UnitCpu (what the units of each queue used)', () => {
  it('busy time from state changes, each unit’s browser tree, and this Node process shared by busy time', () => {
    const m = fakeMachine();
    const { node, trees, cpu } = m;
    const a = new FakeUnit('Worker-conferencia-1');
    const b = new FakeUnit('Worker-ensaio-1');
    cpu.track('conferencia', a);
    cpu.track('ensaio', b);
    a.browserPid = 100;
    trees.set(100, { cpuSeconds: 5, waitSeconds: 1 }); // the launch: never counted
    a.move('ready');
    b.move('ready');
    for (const u of [a, b]) {
      u.move('busy'); // the first job (login, first page) is not a measure
      u.move('ready');
    }
    expect(cpu.sample()).toBeUndefined(); // baselines; the units were starting
    m.now = 1000;
    a.move('busy');
    b.move('busy');
    m.now = 2000;
    trees.set(100, { cpuSeconds: 5.6, waitSeconds: 1.1 });
    node.cpuSeconds += 0.2;
    const first = cpu.sample(); // both busy 1 s; Node's 0.2 s split evenly
    expect(first?.conferencia).toEqual({
      busySeconds: 1,
      cpuSeconds: expect.closeTo(0.7, 5) as number,
      waitSeconds: expect.closeTo(0.1, 5) as number,
    });
    expect(first?.ensaio?.cpuSeconds).toBeCloseTo(0.1);
    m.now = 3000;
    b.move('ready');
    m.now = 3500;
    b.move('busy');
    m.now = 4000;
    trees.set(100, { cpuSeconds: 6.2, waitSeconds: 1.3 });
    node.cpuSeconds += 0.3;
    node.waitSeconds += 0.15;
    const s = cpu.sample();
    // conferencia busy 2 s, ensaio 1.5 s; Node's 0.3 s shared 2 : 1.5.
    expect(s?.conferencia?.busySeconds).toBeCloseTo(2);
    expect(s?.conferencia?.cpuSeconds).toBeCloseTo(0.6 + 0.3 * (2 / 3.5));
    expect(s?.conferencia?.waitSeconds).toBeCloseTo(0.2 + 0.15 * (2 / 3.5));
    expect(s?.ensaio).toEqual({
      busySeconds: 1.5,
      cpuSeconds: expect.closeTo(0.3 * (1.5 / 3.5), 5) as number,
      waitSeconds: expect.closeTo(0.15 * (1.5 / 3.5), 5) as number,
    });
  });

  it('intervals while a unit is in its first job do not count', () => {
    let now = 0;
    const cpu = new UnitCpu({
      clock: () => now,
      nodeCpu: () => ({ cpuSeconds: now / 1000, waitSeconds: 0 }),
      browserCpu: (pid) => ({ pid, read: () => ({ cpuSeconds: 0, waitSeconds: 0 }) }),
    });
    const a = new FakeUnit('Worker-ensaio-1');
    cpu.track('ensaio', a);
    a.move('ready');
    cpu.sample();
    a.move('busy');
    now = 1000;
    expect(cpu.sample()).toBeUndefined();
    now = 2000;
    a.move('ready');
    now = 3000;
    expect(cpu.sample()).toBeUndefined(); // the first job ended within this interval
    a.move('busy');
    now = 4000;
    expect(cpu.sample()).toEqual({ ensaio: { busySeconds: 1, cpuSeconds: 1, waitSeconds: 0 } });
  });

  it('a unit launching or in its first job is left out, the others still count (a burst measured while it ramps)', () => {
    const m = fakeMachine();
    const { node, trees, cpu } = m;
    const warm = new FakeUnit('Worker-conferencia-1');
    warm.browserPid = 100;
    trees.set(100, { cpuSeconds: 3, waitSeconds: 0 });
    cpu.track('conferencia', warm);
    warm.move('ready');
    warm.move('busy');
    warm.move('ready'); // its first job is over
    expect(cpu.sample()).toBeUndefined(); // baselines
    const launching = new FakeUnit('Worker-conferencia-2');
    launching.browserPid = 200; // launched, its Worker not ready yet
    trees.set(200, { cpuSeconds: 0, waitSeconds: 0 });
    cpu.track('conferencia', launching);
    const waiting = new FakeUnit('Worker-conferencia-3'); // waits for its turn to launch: no browser
    cpu.track('conferencia', waiting);
    m.now = 1000;
    warm.move('busy');
    expect(cpu.sample()).toBeUndefined(); // the warm unit busy 0 s; the others left out
    m.now = 2000;
    trees.set(100, { cpuSeconds: 3.8, waitSeconds: 0.2 });
    trees.set(200, { cpuSeconds: 0.9, waitSeconds: 0.3 }); // the launch: not the warm unit's
    node.cpuSeconds += 0.4;
    // Node's 0.4 s shared by the warm unit (busy 1 s) and the launching one (1 s): 0.2 each.
    expect(cpu.sample()).toEqual({
      conferencia: {
        busySeconds: 1,
        cpuSeconds: expect.closeTo(0.8 + 0.2, 5) as number,
        waitSeconds: expect.closeTo(0.2, 5) as number,
      },
    });
    // The units at work used 1 core: the warm one's browser and Node share, not the launch.
    expect(cpu.workingCores).toBeCloseTo(1.0, 5);
    launching.move('ready');
    launching.move('busy'); // its first job: still left out, still shares Node's CPU
    m.now = 3000;
    trees.set(100, { cpuSeconds: 4.6, waitSeconds: 0.2 });
    trees.set(200, { cpuSeconds: 2, waitSeconds: 0.3 });
    node.cpuSeconds += 0.3;
    expect(cpu.sample()).toEqual({
      conferencia: { busySeconds: 1, cpuSeconds: expect.closeTo(0.8 + 0.15, 5) as number, waitSeconds: 0 },
    });
    // A first job is work: 0.95 of the warm unit, 1.1 + 0.15 of the other.
    expect(cpu.workingCores).toBeCloseTo(0.95 + 1.25, 5);
  });

  it('a relaunched browser starts a new baseline; a unit retired mid-job stays busy until it closes', () => {
    let now = 0;
    const trees = new Map<number, number>([
      [100, 1],
      [200, 50],
    ]);
    const cpu = new UnitCpu({
      clock: () => now,
      nodeCpu: () => ({ cpuSeconds: 0, waitSeconds: 0 }),
      browserCpu: (pid) => ({ pid, read: () => ({ cpuSeconds: trees.get(pid) ?? 0, waitSeconds: 0 }) }),
    });
    const a = new FakeUnit('Worker-conferencia-1');
    a.browserPid = 100;
    cpu.track('conferencia', a);
    a.move('ready');
    a.move('busy');
    a.move('ready');
    cpu.sample();
    now = 1000;
    cpu.sample();
    a.move('busy');
    a.browserPid = 200; // recycled between samples: 50 s of another browser must not count
    now = 2000;
    expect(cpu.sample()).toBeUndefined();
    now = 3000;
    trees.set(200, 50.4);
    a.move('draining'); // retired while busy: the job goes on
    now = 4000;
    expect(cpu.sample()).toEqual({
      conferencia: { busySeconds: 2, cpuSeconds: expect.closeTo(0.4, 5) as number, waitSeconds: 0 },
    });
  });
});
