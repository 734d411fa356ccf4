import { describe, expect, it } from 'vitest';
import { UnitCost } from '../../../src/capacity/unit-cost.js';

// The pool's figure (Redis) as a start for a queue this instance has not measured: a light
// measurement that the instance's own units replace.
const options = { halfLifeBusySeconds: 30, minBusySeconds: 10 };
/** One second of `units` busy units of a queue using `cores` each, with no run-queue wait. */
const second = (units: number, cores: number) => ({ busySeconds: units, cpuSeconds: units * cores, waitSeconds: 0 });

describe('UnitCost seeded from the pool', () => {
  it('a queue not measured here starts from the pool’s ratio, weighted as the minimum busy time', () => {
    const cost = new UnitCost(options);
    expect(cost.perUnit()).toEqual({});
    expect(cost.seed('conferencia', { busySeconds: 43, cpuSeconds: 32.25, waitSeconds: 0 })).toBe(true);
    expect(cost.perUnit().conferencia).toBeCloseTo(0.75, 5);
    expect(cost.view().conferencia).toMatchObject({ busySeconds: 10, from: 'pool' });
    expect(cost.isLocal('conferencia')).toBe(false);
    // Nothing measured here yet: nothing to give back to the pool.
    expect(cost.takeChanged()).toEqual({});
  });

  it('this instance’s units take over: their samples outweigh the seed within a half-life of busy time', () => {
    const cost = new UnitCost(options);
    cost.seed('conferencia', { busySeconds: 40, cpuSeconds: 30, waitSeconds: 0 }); // 0.75 elsewhere
    // Here the flow waits on a slow portal: 0.1 core per busy unit, two units for 15 s (30 unit-seconds).
    for (let i = 0; i < 15; i++) cost.add({ conferencia: second(2, 0.1) });
    // The seed's 10 s decayed to 5 against ~22 of local evidence: (5 × 0.75 + 22 × 0.1) / 27 ≈ 0.22.
    expect(cost.perUnit().conferencia).toBeLessThan(0.25);
    for (let i = 0; i < 30; i++) cost.add({ conferencia: second(2, 0.1) });
    // Three half-lives: the seed weighs 1.25 of ~39 unit-seconds.
    const perUnit = cost.perUnit().conferencia ?? Number.NaN;
    expect(perUnit).toBeLessThan(0.13);
    expect(cost.view().conferencia?.from).toBe('local');
    // A later seed does not replace what the units measured here.
    expect(cost.seed('conferencia', { busySeconds: 40, cpuSeconds: 30, waitSeconds: 0 })).toBe(false);
    expect(cost.perUnit().conferencia).toBe(perUnit);
  });

  it('gives the pool only what changed here since the last time, once measured', () => {
    const cost = new UnitCost(options);
    cost.add({ emissao: second(2, 0.5) });
    expect(cost.takeChanged()).toEqual({}); // 2 busy seconds: not a measurement yet
    for (let i = 0; i < 5; i++) cost.add({ emissao: second(2, 0.5) });
    const changed = cost.takeChanged();
    expect(Object.keys(changed)).toEqual(['emissao']);
    expect((changed.emissao?.cpuSeconds ?? 0) / (changed.emissao?.busySeconds ?? 1)).toBeCloseTo(0.5, 5);
    expect(cost.takeChanged()).toEqual({}); // nothing new since
  });

  it('evidence that is no measurement (too little busy time, negative or missing numbers) is refused', () => {
    const cost = new UnitCost(options);
    expect(cost.seed('a', { busySeconds: 3, cpuSeconds: 1, waitSeconds: 0 })).toBe(false);
    expect(cost.seed('b', { busySeconds: 20, cpuSeconds: -1, waitSeconds: 0 })).toBe(false);
    expect(cost.seed('c', { busySeconds: Number.NaN, cpuSeconds: 1, waitSeconds: 0 })).toBe(false);
    expect(cost.perUnit()).toEqual({});
  });
});
