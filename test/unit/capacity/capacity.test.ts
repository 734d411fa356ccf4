import { describe, expect, it } from 'vitest';
import { computeCapacity, launchPaused, unitsThatFit, type CapacityOptions } from '../../../src/capacity/capacity.js';
import { CapacityMonitor, type LoadSources } from '../../../src/capacity/capacity-monitor.js';
import { decideScale, EMPTY_MEMORY, type ScaleLimits } from '../../../src/scaler/decide.js';
import type { QueueCpu } from '../../../src/capacity/unit-cpu.js';
import { SampleWindow, summarize, type LoadSample } from '../../../src/capacity/windows.js';
import { capacityDefaults } from '../../helpers/capacity-defaults.js';

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

const opts = (o: Partial<CapacityOptions> = {}): CapacityOptions => ({ ...capacityDefaults(), ...o });

describe('computeCapacity', () => {
  it('no CPU measurement yet: nothing bounds by CPU (the rule runs, the gate watches)', () => {
    const idle = win({ cpuRatio: 0.3, ourCores: 0.5 });
    const c = computeCapacity({ short: idle, long: idle, units: { conferencia: 7 }, perUnit: {} }, opts());
    expect(c.limit.signal).toBe('memory'); // 16 GB: 76 more browsers; the CPU sets no bound
    expect(c.otherUnits).toBe(83);
    expect(c.overloaded).toBe(false);
    expect(c.cpu?.perUnit).toEqual({});
    const unbounded = computeCapacity({ short: undefined, long: undefined, units: {}, perUnit: {} }, opts());
    expect(unbounded.units).toBe(Infinity);
    expect(unbounded.limit).toEqual({ signal: 'none' });
    expect(c.cpu).toMatchObject({ cores: 2, overloaded: false });
    expect(c.cpu?.freeCores).toBeCloseTo(1.8); // 2 × 0.95 − 0.1 used by others
  });

  it('I/O-bound units (0.05 core each) fit by the dozen; CPU-bound ones (0.9) two on 2 cores', () => {
    const idle = win({ cpuRatio: 0.2, ourCores: 0.4 });
    const io = computeCapacity({ short: idle, long: idle, units: { q: 1 }, perUnit: { q: 0.05 } }, opts());
    expect(io.units).toBe(38); // 1.9 free cores ÷ 0.05
    expect(io.limit).toMatchObject({ signal: 'cpu', freeCores: 1.9, perUnit: 0.05 });
    const cpu = computeCapacity({ short: idle, long: idle, units: { q: 1 }, perUnit: { q: 0.9 } }, opts());
    expect(cpu.units).toBe(2);
  });

  it('the free CPU is what other processes leave, the higher of the short and the long window’s use', () => {
    const busy = win({ cpuRatio: 1, ourCores: 1 }); // a neighbour uses the other core
    const c = computeCapacity(
      { short: win({ cpuRatio: 0.6, ourCores: 1.2 }), long: busy, units: { q: 1 }, perUnit: { q: 0.4 } },
      opts(),
    );
    expect(c.cpu?.otherCores).toBeCloseTo(1);
    expect(c.cpu?.freeCores).toBeCloseTo(0.9);
    expect(c.units).toBe(2); // 0.9 ÷ 0.4 = 2.25
  });

  it('running units are not cut for CPU unless the short window is overloaded; then at once', () => {
    const calm = win({ cpuRatio: 0.7, ourCores: 1.3 });
    const kept = computeCapacity({ short: calm, long: calm, units: { q: 6 }, perUnit: { q: 0.7 } }, opts());
    expect(kept.units).toBe(6);
    const full = win({ cpuRatio: 1, ourCores: 2 });
    const cut = computeCapacity({ short: full, long: full, units: { q: 6 }, perUnit: { q: 0.7 } }, opts());
    expect(cut.units).toBe(3); // 1.9 ÷ 0.7 = 2.7
    expect(cut.cpu?.overloaded).toBe(true);
    expect(cut.overload).toEqual({ signal: 'cpu', maxCpuRatio: 0.95, share: 1, windowSeconds: 5, cores: 2 });
  });

  it('a busy neighbour on both cores cuts CPU-bound units to minUnits', () => {
    const hog = win({ cpuRatio: 1, ourCores: 0.8 });
    const c = computeCapacity({ short: hog, long: hog, units: { q: 2 }, perUnit: { q: 0.8 } }, opts());
    expect(c.cpu?.freeCores).toBeCloseTo(0.7);
    expect(c.units).toBe(1);
  });

  it('mixed queues: the published units follow the mix of running units', () => {
    const idle = win({ cpuRatio: 0.5, ourCores: 1 });
    const c = computeCapacity(
      { short: idle, long: idle, units: { heavy: 1, light: 3 }, perUnit: { heavy: 0.9, light: 0.1 } },
      opts(),
    );
    // mean cost (0.9 + 3 × 0.1) / 4 = 0.3 → 1.9 ÷ 0.3 = 6.3
    expect(c.units).toBe(6);
  });

  it('unitsThatFit rounds to the nearest unit: one fits when half of it is free', () => {
    expect(unitsThatFit(1.9, 0.97)).toBe(2);
    expect(unitsThatFit(1.9, 0.25)).toBe(8);
    expect(unitsThatFit(0.2, 0.9)).toBe(0);
    expect(unitsThatFit(1, 0)).toBe(Infinity);
  });

  it('launches of an unmeasured queue pause while the units at work leave under half a core of the free CPU', () => {
    const units = { conferencia: 7, emissao: 1 };
    const calm = win({ cpuRatio: 0.6, ourCores: 1.1 });
    const c = computeCapacity({ short: calm, long: calm, units, perUnit: { emissao: 0.9 } }, opts());
    expect(c.cpu?.freeCores).toBeCloseTo(1.8);
    // Fast portal: two units at work use 1.7 of the 1.8 free cores, the next browser waits.
    expect(launchPaused(c, 'conferencia', 1.7)).toBe(true);
    // One unit at work (0.9): room for the next. Slow portal: 7 units use 0.4, room for more.
    expect(launchPaused(c, 'conferencia', 0.9)).toBe(false);
    expect(launchPaused(c, 'conferencia', 0.4)).toBe(false);
    // A measured queue is sized by its bound, not paused; nothing pauses before a reading.
    expect(launchPaused(c, 'emissao', 1.7)).toBe(false);
    expect(launchPaused(c, 'conferencia', undefined)).toBe(false);
    expect(launchPaused(undefined, 'conferencia', 1.7)).toBe(false);
    // A neighbour on both cores leaves the units their minimum share: one at work fills it.
    const hog = win({ cpuRatio: 1, ourCores: 0.3 });
    const squeezed = computeCapacity({ short: hog, long: hog, units, perUnit: {} }, opts());
    expect(launchPaused(squeezed, 'conferencia', 0.3)).toBe(true);
    // Overloaded by the launches themselves while the units barely work (a slow portal's ramp):
    // the start gate is closed, but the launches go on.
    const launching = win({ cpuRatio: 0.97, ourCores: 1.85 });
    const ramp = computeCapacity({ short: launching, long: launching, units, perUnit: {} }, opts());
    expect(ramp.overloaded).toBe(true);
    expect(launchPaused(ramp, 'conferencia', 0.3)).toBe(false);
  });

  it('memory budget: units = budget / measured PSS per browser', () => {
    const m = { cores: 16, cpuRatio: 0.1, ourCores: 1, browserMb: 300, browsersMeasured: 3 };
    const c = computeCapacity(
      { short: win(m), long: win(m), units: { q: 3 }, perUnit: {} },
      opts({ maxMemoryMb: 450 }),
    );
    expect(c.units).toBe(4);
    expect(c.limit).toEqual({ signal: 'memoryBudget', budgetMb: 450, unitMb: 100 });
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
    const c = computeCapacity({ short: win(m), long: win(m), units: { q: 2 }, perUnit: {} }, opts());
    expect(c.units).toBe(4);
    expect(c.limit.signal).toBe('memory');
    const tight = { ...m, memoryUsedMb: 1900 };
    const t = computeCapacity({ short: win(tight), long: win(tight), units: { q: 4 }, perUnit: {} }, opts());
    expect(t.overloaded).toBe(true);
    expect(t.overload?.signal).toBe('memory');
    expect(t.units).toBe(1); // 4 + floor((2048 − 1900 − 512) / 100) = 0 → minUnits
  });

  it('a slow event loop closes the gate without lowering capacity', () => {
    const slow = { cpuRatio: 0.3, ourCores: 0.5, eventLoopDelayMs: 900 };
    const c = computeCapacity({ short: win(slow), long: win(slow), units: { q: 1 }, perUnit: { q: 0.5 } }, opts());
    expect(c.units).toBe(4);
    expect(c.overload).toEqual({ signal: 'eventLoop', delayMs: 900 });
  });

  it('without samples: the configured bounds and no gate', () => {
    const c = computeCapacity({ short: undefined, long: undefined, units: {}, perUnit: {} }, opts({ maxUnits: 3 }));
    expect(c.overloaded).toBe(false);
    expect(c.units).toBe(3);
    expect(c.cpu).toBeUndefined();
  });
});

describe('CapacityMonitor (injected clock, fake signals)', () => {
  /** 2 cores; each second our tree uses `ours` cores and the machine `busy` cores; the units cost `perUnit`. */
  function machine() {
    const state = { busy: 0.5, ours: 0.5, now: 0, busySeconds: 0, ownSeconds: 0, wall: 0, units: 0, perUnit: 0.8 };
    const sources: LoadSources = {
      cpu: {
        read: () => ({ busySeconds: state.busySeconds, capacitySeconds: state.wall * 2, cores: 2, source: 'proc' }),
      },
      ownCpuSeconds: () => state.ownSeconds,
      memory: { read: () => ({ limitMb: 16000, usedMb: 4000 }) },
      eventLoopDelayMs: () => 3,
      browsers: () => ({ mb: 0, count: 0 }),
      units: () => ({ conferencia: state.units }),
      // Every unit busy the whole second, at the given cost (no run-queue wait: a free machine).
      unitCpu: (): Record<string, QueueCpu> | undefined =>
        state.units > 0
          ? { conferencia: { busySeconds: state.units, cpuSeconds: state.units * state.perUnit, waitSeconds: 0 } }
          : undefined,
    };
    const tick = (): void => {
      state.now += 1000;
      state.wall += 1;
      state.busySeconds += state.busy;
      state.ownSeconds += state.ours;
    };
    return { state, sources, tick };
  }

  it('measures the units’ cost, then a busy neighbour cuts capacity within the short window', () => {
    const { state, sources, tick } = machine();
    const monitor = new CapacityMonitor({
      options: capacityDefaults(),
      sources,
      clock: () => state.now,
      monotonicSeconds: () => state.wall,
    });
    const changes: number[] = [];
    monitor.on('changed', (c) => changes.push(c.units));
    monitor.sample();
    // The first reading is only a CPU baseline, and no queue has a measurement: no CPU bound.
    expect(monitor.capacity).toMatchObject({ units: Infinity, overloaded: false });
    state.busy = 1.7;
    state.ours = 1.6; // our two browsers, 0.8 core each
    state.units = 2;
    for (let i = 0; i < 10; i++) {
      tick();
      monitor.sample();
    }
    expect(monitor.view().costs.conferencia?.perUnit).toBeCloseTo(0.8);
    expect(monitor.capacity?.units).toBe(2); // 1.9 free ÷ 0.8 = 2.4
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
    expect(monitor.capacity?.limit).toMatchObject({ signal: 'cpu', perUnit: expect.closeTo(0.8, 2) as number });
    expect(monitor.capacity?.cpu?.overloaded).toBe(true);
    // The scaler retires one unit; the loop goes on for a while, then ends.
    state.units = 1;
    state.ours = 0.8;
    for (let i = 0; i < 20; i++) {
      tick();
      monitor.sample();
    }
    expect(monitor.capacity?.units).toBe(1);
    state.busy = 0.9;
    // Capacity comes back once the long window forgets the neighbour, not on the short window alone.
    let back = 0;
    while (monitor.capacity?.units !== 2 && back < 60) {
      tick();
      monitor.sample();
      back++;
    }
    expect(monitor.capacity?.units).toBe(2);
    expect(back).toBeGreaterThan(4); // not on the short window alone
    expect(back).toBeLessThanOrEqual(30);
    expect(changes).toContain(1);
  });

  it('a CPU hog on both cores (injected load signal): the decision cuts the units at once, no window', () => {
    const { state, sources, tick } = machine();
    const monitor = new CapacityMonitor({
      options: capacityDefaults(),
      sources,
      clock: () => state.now,
      monotonicSeconds: () => state.wall,
    });
    const limits: ScaleLimits = {
      queues: { conferencia: { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10 } },
      maxTotalWorkers: 20,
      stabilizationMs: 60_000,
    };
    const decide = (current: number) => {
      const c = monitor.capacity;
      if (!c) throw new Error('no capacity yet');
      return decideScale([{ queue: 'conferencia', pending: 200, current }], limits, EMPTY_MEMORY, state.now, {
        units: c.otherUnits,
        limit: c.otherLimit,
        ...(c.cpu ? { cpu: c.cpu } : {}),
        overloaded: c.overloaded,
        ...(c.overload ? { overload: c.overload } : {}),
      }).plans[0];
    };
    monitor.sample();
    state.busy = 1.7;
    state.ours = 1.6;
    state.units = 2;
    for (let i = 0; i < 10; i++) {
      tick();
      monitor.sample();
    }
    expect(decide(2)).toMatchObject({ target: 2, action: 'hold' });
    // The hog starts: within the short window the decision retires a unit, at once.
    state.busy = 2;
    state.ours = 0.9;
    let seconds = 0;
    while (decide(2)?.action !== 'down' && seconds < 30) {
      tick();
      monitor.sample();
      seconds++;
    }
    expect(seconds).toBeLessThanOrEqual(3);
    expect(decide(2)).toMatchObject({ target: 1, bound: 'capacity', reason: { limit: { signal: 'cpu' } } });
  });

  it('a wall clock that jumps backwards does not keep stale overload', () => {
    const { state, sources, tick } = machine();
    const monitor = new CapacityMonitor({
      options: capacityDefaults(),
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
