import { describe, expect, it } from 'vitest';
import { assignUnits, describeSplit, type AssignableInstance } from '../../../src/scaler/assign.js';

const inst = (id: string, capacity: number, units: Record<string, number> = {}): AssignableInstance => ({
  id,
  capacity,
  units,
});

describe('assignUnits', () => {
  it('keeps running units where they are and spreads new ones to the most headroom', () => {
    const members = [inst('maq-a', 10, { conferencia: 2 }), inst('maq-b', 10)];
    const out = assignUnits({ conferencia: 7 }, members);
    expect(out).toEqual({ 'maq-a': { conferencia: 4 }, 'maq-b': { conferencia: 3 } });
    expect(describeSplit('conferencia', out, members)).toBe('maq-a +2, maq-b +3');
  });

  it('never assigns an instance more than its capacity; what does not fit stays unassigned', () => {
    const out = assignUnits({ conferencia: 10, emissao: 10 }, [inst('a', 4), inst('b', 6)]);
    const total = (id: string) => Object.values(out[id] ?? {}).reduce((s, n) => s + n, 0);
    expect(total('a')).toBe(4);
    expect(total('b')).toBe(6);
  });

  it('trims an excess from the instance with the most units of that queue, not the others', () => {
    const members = [inst('a', 10, { conferencia: 1 }), inst('b', 10, { conferencia: 5 })];
    const out = assignUnits({ conferencia: 3 }, members);
    expect(out).toEqual({ a: { conferencia: 1 }, b: { conferencia: 2 } });
    expect(describeSplit('conferencia', out, members)).toBe('b -3');
  });

  it('gives a dead instance’s share to the live ones (it is simply not listed)', () => {
    const live = [inst('a', 10, { conferencia: 3 }), inst('c', 10, { conferencia: 3 })];
    const out = assignUnits({ conferencia: 9 }, live);
    expect((out.a?.conferencia ?? 0) + (out.c?.conferencia ?? 0)).toBe(9);
  });

  it('is the same whatever order the instances are listed in (every instance computes it alike)', () => {
    const members = [inst('c', 5, { emissao: 1 }), inst('a', 8), inst('b', 8, { conferencia: 2 })];
    const targets = { conferencia: 9, emissao: 4 };
    expect(assignUnits(targets, members)).toEqual(assignUnits(targets, [...members].reverse()));
  });
});
