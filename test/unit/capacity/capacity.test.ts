import { describe, expect, it } from 'vitest';
import { computeCapacity, DEFAULT_CAPACITY, type CapacityOptions } from '../../../src/capacity/capacity.js';
import { CapacityMonitor, type LoadSources } from '../../../src/capacity/capacity-monitor.js';
import { SampleWindow, summarize, type LoadSample } from '../../../src/capacity/windows.js';

const T = { maxCpuRatio: 0.95, maxMemoryRatio: 0.9, maxEventLoopDelayMs: 250 };

function sample(at: number, over: Partial<LoadSample> = {}): LoadSample {
  return {
    at,
    cores: 2,
    cpuRatio: 0.5,
    ourCores: 1,
    memoryUsedMb: 4000,
    memoryLimitMb: 16000,
    browserMb: 0,
    browsersMeasured: 0,
    eventLoopDelayMs: 5,
    ...over,
  };
}

describe('SampleWindow', () => {
  it('summarises the short and the long window separately, with overloaded ratios per signal', () => {
    const w = new SampleWindow(30_000);
    for (let s = 1; s <= 30; s++)
      w.add(sample(s * 1000, { cpuRatio: s > 25 ? 1 : 0.5, eventLoopDelayMs: s === 30 ? 400 : 5 }));
    const short = w.summarize(5_000, 30_000, T)!;
    const long = w.summarize(30_000, 30_000, T)!;
    expect(short.samples).toBe(5);
    expect(short.overloaded.cpu).toBe(1);
    expect(short.overloaded.eventLoop).toBeCloseTo(0.2);
    expect(long.samples).toBe(30);
    expect(long.overloaded.cpu).toBeCloseTo(5 / 30);
    expect(short.eventLoopDelayMs).toBe(400);
  });

  it('counts the cores others use as busy cores minus ours, never below zero', () => {
    const s = summarize([sample(1, { cpuRatio: 1, ourCores: 0.8 }), sample(2, { cpuRatio: 0.2, ourCores: 1 })], T)!;
    expect(s.otherCores).toBeCloseTo((1.2 + 0) / 2);
  });

  it('drops samples older than the longest window', () => {
    const w = new SampleWindow(30_000);
    w.add(sample(1_000));
    w.add(sample(40_000));
    expect(w.within(1_000_000, 40_000)).toHaveLength(1);
  });

  it('a clock that jumps backwards empties the window instead of keeping "future" samples', () => {
    const w = new SampleWindow(30_000);
    for (let s = 1; s <= 10; s++) w.add(sample(100_000 + s * 1000, { cpuRatio: 1 }));
    w.add(sample(50_000, { cpuRatio: 0.1 }));
    const summary = w.summarize(5_000, 50_000, T)!;
    expect(summary.samples).toBe(1);
    expect(summary.overloaded.cpu).toBe(0);
  });

  it('samples after `now` are not in the window', () => {
    const w = new SampleWindow(30_000);
    w.add(sample(1_000));
    w.add(sample(9_000));
    expect(w.summarize(5_000, 5_000, T)?.samples).toBe(1);
    expect(w.summarize(3_000, 8_000, T)).toBeUndefined();
  });
});

/** A window summary for `computeCapacity`, from one repeated sample. */
function win(over: Partial<LoadSample> = {}) {
  return summarize([sample(1, over)], T);
}

const opts = (o: Partial<CapacityOptions> = {}): CapacityOptions => ({ ...DEFAULT_CAPACITY, ...o });

describe('computeCapacity', () => {
  it('a machine our own browsers fill is used, not overloaded for capacity: 2 units on 2 cores', () => {
    const { capacity } = computeCapacity(
      { short: win({ cpuRatio: 1, ourCores: 1.9 }), long: win({ cpuRatio: 1, ourCores: 1.9 }), units: 2 },
      opts(),
      {},
    );
    expect(capacity.units).toBe(2);
    expect(capacity.limitedBy).toBe('cpu');
    expect(capacity.reason).toBe('CPU 100% (2 núcleos, 0,1 usados por outros processos)');
    // ...but the gate is closed: a third unit would not start on a full CPU.
    expect(capacity.overloaded).toBe(true);
    expect(capacity.overloadedBy).toBe('cpu');
    expect(capacity.overloadReason).toBe('CPU ≥ 95% em 100% das amostras de 5s (2 núcleos)');
  });

  it('16 idle cores give 16 units; unitsPerCore scales it', () => {
    const idle = { cores: 16, cpuRatio: 0.05, ourCores: 0.8 };
    expect(computeCapacity({ short: win(idle), long: win(idle), units: 0 }, opts(), {}).capacity.units).toBe(16);
    expect(
      computeCapacity({ short: win(idle), long: win(idle), units: 0 }, opts({ unitsPerCore: 2 }), {}).capacity.units,
    ).toBe(32);
  });

  it('falls at once when another process takes a core (short window), rises only when the long window agrees', () => {
    const busy = { cpuRatio: 1, ourCores: 1 }; // a neighbour uses the other core
    const down = computeCapacity({ short: win(busy), long: win({ cpuRatio: 0.6, ourCores: 1.2 }), units: 2 }, opts(), {
      cpuUnits: 2,
    });
    expect(down.capacity.units).toBe(1);
    expect(down.capacity.reason).toBe('CPU 100% (2 núcleos, 1 usados por outros processos)');
    // The neighbour stopped: the short window is clear, the long one still remembers it.
    const waiting = computeCapacity(
      { short: win({ cpuRatio: 0.5, ourCores: 1 }), long: win({ cpuRatio: 1, ourCores: 1 }), units: 1 },
      opts(),
      down.memory,
    );
    expect(waiting.capacity.units).toBe(1);
    const up = computeCapacity(
      { short: win({ cpuRatio: 0.5, ourCores: 1 }), long: win({ cpuRatio: 0.55, ourCores: 1 }), units: 1 },
      opts(),
      waiting.memory,
    );
    expect(up.capacity.units).toBe(2);
  });

  it('a partly free core carries a unit when at least 0.3 of it is free', () => {
    const cap = (others: number): number =>
      computeCapacity(
        {
          short: win({ cpuRatio: (1 + others) / 2, ourCores: 1 }),
          long: win({ cpuRatio: (1 + others) / 2, ourCores: 1 }),
          units: 2,
        },
        opts(),
        {},
      ).capacity.units;
    expect(cap(0.6)).toBe(2); // 1.4 cores free
    expect(cap(0.75)).toBe(1); // 1.25 cores free
  });

  it('never below minUnits, even when others use every core', () => {
    const full = { cpuRatio: 1, ourCores: 0 };
    expect(computeCapacity({ short: win(full), long: win(full), units: 1 }, opts(), {}).capacity.units).toBe(1);
  });

  it('memory budget: units = budget / measured PSS per browser', () => {
    const m = { cores: 16, cpuRatio: 0.1, ourCores: 1, browserMb: 300, browsersMeasured: 3 };
    const { capacity } = computeCapacity({ short: win(m), long: win(m), units: 3 }, opts({ maxMemoryMb: 450 }), {});
    expect(capacity.units).toBe(4);
    expect(capacity.limitedBy).toBe('memoryBudget');
    expect(capacity.reason).toBe('orçamento de memória 450 MB (~100 MB por navegador)');
  });

  it('memory headroom under a cgroup limit bounds units, and a tight limit closes the gate', () => {
    const m = {
      cores: 8,
      cpuRatio: 0.1,
      ourCores: 1,
      memoryLimitMb: 2048,
      memoryUsedMb: 1300,
      browserMb: 200,
      browsersMeasured: 2,
    };
    // headroom 2048 − 1300 − 512 = 236 MB → two more browsers of 100 MB.
    const { capacity } = computeCapacity({ short: win(m), long: win(m), units: 2 }, opts(), {});
    expect(capacity.units).toBe(4);
    expect(capacity.limitedBy).toBe('memory');
    const tight = { ...m, memoryUsedMb: 1900 };
    const t = computeCapacity({ short: win(tight), long: win(tight), units: 4 }, opts(), {}).capacity;
    expect(t.overloaded).toBe(true);
    expect(t.overloadedBy).toBe('memory');
    expect(t.units).toBe(1); // 4 + floor((2048 − 1900 − 512) / 100) = 0 → minUnits
  });

  it('a slow event loop closes the gate without lowering capacity', () => {
    const slow = { cpuRatio: 0.3, ourCores: 0.5, eventLoopDelayMs: 900 };
    const { capacity } = computeCapacity({ short: win(slow), long: win(slow), units: 1 }, opts(), {});
    expect(capacity.units).toBe(2);
    expect(capacity.overloaded).toBe(true);
    expect(capacity.overloadReason).toBe('atraso do event loop 900 ms');
  });

  it('without samples: the CPU bound of one core and no gate', () => {
    const { capacity } = computeCapacity({ short: undefined, long: undefined, units: 0 }, opts(), {});
    expect(capacity.overloaded).toBe(false);
    expect(capacity.units).toBe(1);
  });
});

describe('CapacityMonitor (injected clock, fake signals)', () => {
  /** 2 cores; each second our tree uses `ours` cores and the machine `busy` cores. */
  function machine() {
    const state = { busy: 0.5, ours: 0.5, now: 0, busySeconds: 0, ownSeconds: 0, wall: 0, units: 0 };
    const sources: LoadSources = {
      cpu: {
        read: () => ({ busySeconds: state.busySeconds, capacitySeconds: state.wall * 2, cores: 2, source: 'proc' }),
      },
      ownCpuSeconds: () => state.ownSeconds,
      memory: { read: () => ({ limitMb: 16000, usedMb: 4000 }) },
      eventLoopDelayMs: () => 3,
      browsers: () => ({ mb: 0, count: 0 }),
      units: () => state.units,
    };
    const tick = (): void => {
      state.now += 1000;
      state.wall += 1;
      state.busySeconds += state.busy;
      state.ownSeconds += state.ours;
    };
    return { state, sources, tick };
  }

  it('a busy neighbour lowers capacity within the short window; it recovers after the long window clears', () => {
    const { state, sources, tick } = machine();
    const monitor = new CapacityMonitor({
      options: DEFAULT_CAPACITY,
      sources,
      clock: () => state.now,
      monotonicSeconds: () => state.wall,
    });
    const changes: number[] = [];
    monitor.on('changed', (c) => changes.push(c.units));
    monitor.sample();
    // The first reading is only a CPU baseline: the cores alone bound, no gate yet.
    expect(monitor.capacity).toMatchObject({ units: 2, overloaded: false });
    state.busy = 1.9;
    state.ours = 1.8; // our two browsers fill the machine
    state.units = 2;
    for (let i = 0; i < 10; i++) {
      tick();
      monitor.sample();
    }
    expect(monitor.capacity?.units).toBe(2);
    // A busy loop on both cores: the scheduler gives us half.
    state.busy = 2;
    state.ours = 0.9;
    let seconds = 0;
    while (monitor.capacity?.units !== 1 && seconds < 30) {
      tick();
      monitor.sample();
      seconds++;
    }
    expect(seconds).toBeLessThanOrEqual(4);
    for (let i = 0; i < 30; i++) {
      tick();
      monitor.sample();
    }
    expect(monitor.capacity?.units).toBe(1);
    expect(monitor.capacity?.reason).toBe('CPU 100% (2 núcleos, 1,1 usados por outros processos)');
    // The loop ends.
    state.busy = 1.9;
    state.ours = 1.8;
    let back = 0;
    while (monitor.capacity?.units !== 2 && back < 60) {
      tick();
      monitor.sample();
      back++;
    }
    expect(monitor.capacity?.units).toBe(2);
    expect(back).toBeGreaterThan(4); // not on the short window alone
    expect(back).toBeLessThanOrEqual(30);
    expect(changes[0]).toBe(2);
    expect(changes).toContain(1);
  });

  it('a wall clock that jumps backwards does not keep stale overload', () => {
    const { state, sources, tick } = machine();
    const monitor = new CapacityMonitor({
      options: DEFAULT_CAPACITY,
      sources,
      clock: () => state.now,
      monotonicSeconds: () => state.wall,
    });
    monitor.sample();
    state.busy = 2;
    state.ours = 0.2;
    for (let i = 0; i < 10; i++) {
      tick();
      monitor.sample();
    }
    expect(monitor.capacity?.overloaded).toBe(true);
    state.now -= 3_600_000; // NTP step back an hour
    state.busy = 0.4;
    tick();
    monitor.sample();
    expect(monitor.capacity?.overloaded).toBe(false);
    expect(monitor.view().short?.samples).toBe(1);
  });
});
