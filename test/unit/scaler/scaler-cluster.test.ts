import { describe, expect, it } from 'vitest';
import { membersWithSelf, withSelf, type ScalerCluster } from '../../../src/scaler/scaler-cluster.js';

describe('withSelf: the one merge of this instance and the others', () => {
  it('lists the instances in id order, this one in place of a stale entry under its id', () => {
    const others = [
      { id: 'maq-c', units: 3 },
      { id: 'maq-b', units: 9 }, // this instance as Redis last saw it: replaced by its own count
      { id: 'maq-a', units: 1 },
    ];
    expect(withSelf(others, { id: 'maq-b', units: 2 })).toEqual([
      { id: 'maq-a', units: 1 },
      { id: 'maq-b', units: 2 },
      { id: 'maq-c', units: 3 },
    ]);
  });

  it('adds this instance when Redis does not list it (yet)', () => {
    expect(withSelf([], { id: 'maq-a' })).toEqual([{ id: 'maq-a' }]);
  });
});

describe('membersWithSelf', () => {
  it("takes this instance's capacity and units from its own pool, the others' from the cluster", async () => {
    const cluster: ScalerCluster = {
      selfId: 'maq-b',
      capacity: () => 4,
      units: () => ({ q: 2 }),
      instances: () =>
        Promise.resolve([
          { id: 'maq-b', capacity: 9, units: { q: 0 } },
          { id: 'maq-a', capacity: 5, units: { q: 3 } },
        ]),
    };
    expect(await membersWithSelf(cluster)).toEqual([
      { id: 'maq-a', capacity: 5, units: { q: 3 } },
      { id: 'maq-b', capacity: 4, units: { q: 2 } },
    ]);
  });
});
