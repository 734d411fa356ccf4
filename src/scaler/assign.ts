/**
 * Which instance runs which units, pure: the global per-queue targets of {@link decideScale} split
 * among the live instances. Units stay where they run (no churn); new ones go one by one to the
 * instance with the most headroom; an excess is taken from the instance with the most units of
 * that queue. Every instance computes the same split from the same snapshot.
 */

import type { CapacityBound } from './decide.js';

/** One live instance as the split sees it. */
export interface AssignableInstance {
  readonly id: string;
  /** Most units it may run, over all queues. */
  readonly capacity: number;
  /** Its live units per queue now. */
  readonly units: Readonly<Record<string, number>>;
}

/** Units per queue per instance id. */
export type Assignment = Record<string, Record<string, number>>;

export function assignUnits(
  targets: Readonly<Record<string, number>>,
  instances: readonly AssignableInstance[],
): Assignment {
  const ordered = [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const out: Assignment = Object.fromEntries(ordered.map((i) => [i.id, {}]));
  const used = new Map(ordered.map((i) => [i.id, 0]));
  const queues = Object.keys(targets).sort();
  // Keep what runs, each queue within its target (the excess trimmed below).
  for (const q of queues) {
    for (const i of ordered) {
      const keep = Math.max(0, i.units[q] ?? 0);
      (out[i.id] as Record<string, number>)[q] = keep;
      used.set(i.id, (used.get(i.id) ?? 0) + keep);
    }
  }
  for (const q of queues) {
    const target = Math.max(0, targets[q] ?? 0);
    let total = ordered.reduce((sum, i) => sum + (out[i.id]?.[q] ?? 0), 0);
    while (total > target) {
      // Trim where this queue has the most units; ties: the last id.
      let from: AssignableInstance | undefined;
      for (const i of ordered) if (!from || (out[i.id]?.[q] ?? 0) >= (out[from.id]?.[q] ?? 0)) from = i;
      if (!from) break;
      (out[from.id] as Record<string, number>)[q] = (out[from.id]?.[q] ?? 0) - 1;
      used.set(from.id, (used.get(from.id) ?? 0) - 1);
      total--;
    }
  }
  for (const q of queues) {
    const target = Math.max(0, targets[q] ?? 0);
    let total = ordered.reduce((sum, i) => sum + (out[i.id]?.[q] ?? 0), 0);
    while (total < target) {
      // Most headroom first; ties: the first id.
      let to: AssignableInstance | undefined;
      let best = 0;
      for (const i of ordered) {
        const room = i.capacity - (used.get(i.id) ?? 0);
        if (room > best) {
          best = room;
          to = i;
        }
      }
      if (!to) break; // every instance is full: the rest waits for capacity
      (out[to.id] as Record<string, number>)[q] = (out[to.id]?.[q] ?? 0) + 1;
      used.set(to.id, (used.get(to.id) ?? 0) + 1);
      total++;
    }
  }
  return out;
}

/** `maq-a +3, maq-b +2`: how the assignment changes each instance's units of `queue`. */
export function describeSplit(
  queue: string,
  assignment: Readonly<Assignment>,
  instances: readonly AssignableInstance[],
): string {
  return instances
    .map((i) => ({ id: i.id, delta: (assignment[i.id]?.[queue] ?? 0) - (i.units[queue] ?? 0) }))
    .filter((d) => d.delta !== 0)
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((d) => `${d.id} ${d.delta > 0 ? '+' : ''}${d.delta}`)
    .join(', ');
}

/**
 * The capacity the decision sees with several instances: the sum of the published ones (each
 * already lowered by its own measured bound, and to its units while overloaded); the split keeps
 * each instance within its own. One instance alone uses its own bound instead.
 */
export function poolCapacity(members: readonly AssignableInstance[]): CapacityBound {
  const units = members.reduce((total, m) => total + m.capacity, 0);
  return { units, limit: { signal: 'pool', instances: members.length, units }, overloaded: false };
}
