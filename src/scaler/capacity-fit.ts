/**
 * The capacity bound applied to the queues' fair shares, pure. Units go round-robin to the queue
 * with the fewest (ties: name order) while they fit: within the units the machine holds whatever
 * they run (memory, budget, `capacity.maxUnits`), and within the free CPU at each queue's measured
 * CPU per busy unit. A queue without a measurement yet costs nothing here: it starts what the
 * rule asks and the start gate (overload) holds back more. Units already running are not cut for
 * CPU unless the CPU is overloaded: a machine with room shows the estimate too low, not the units
 * too many. Each queue with work keeps one unit whatever the bounds (work keeps moving).
 */
import type { CapacityLimit, CpuCapacity, OverloadReason } from '../shared/scaling-reason.js';

/** This instance's capacity as the decision sees it (src/capacity computes it). */
export interface CapacityBound {
  /** Units whatever they run (memory, budget, maxUnits; with several instances, the pool's sum); Infinity: none. */
  readonly units: number;
  /** Why `units`. */
  readonly limit: CapacityLimit;
  /** The CPU part for one instance; absent with several instances (their published units include it). */
  readonly cpu?: CpuCapacity;
  /** The start gate is closed: no unit starts (but one per queue while the instance runs none). */
  readonly overloaded: boolean;
  readonly overload?: OverloadReason;
}

export interface CapacityFit {
  /** Units per queue within capacity (never above the share asked). */
  readonly given: Record<string, number>;
  /** For a queue given less than asked: the bound that stopped it. */
  readonly limits: Record<string, CapacityLimit>;
}

/** Fits `asked` (the fair shares) into `bound`; `current` are the queues' live units. */
export function fitCapacity(
  asked: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
  bound: CapacityBound,
): CapacityFit {
  const names = Object.keys(asked).sort();
  const cpu = bound.cpu;
  const cost = (q: string): number => cpu?.perUnit[q] ?? 0;
  const keep = (q: string): number => (cpu && !cpu.overloaded ? Math.min(current[q] ?? 0, asked[q] ?? 0) : 0);
  const given: Record<string, number> = {};
  let units = 0;
  let cores = 0;
  for (const q of names) {
    given[q] = (asked[q] ?? 0) > 0 ? 1 : 0;
    units += given[q];
    cores += given[q] * cost(q);
  }
  const limits: Record<string, CapacityLimit> = {};
  const blocked = (q: string): CapacityLimit | undefined => {
    if (units + 1 > bound.units) return bound.limit;
    const n = given[q] ?? 0;
    // Round to the nearest unit: a unit fits when at least half of its CPU is free.
    if (cpu && n >= keep(q) && cores + cost(q) / 2 > cpu.freeCores) {
      return {
        signal: 'cpu',
        cores: cpu.cores,
        freeCores: cpu.freeCores,
        otherCores: cpu.otherCores,
        maxCpuRatio: cpu.maxCpuRatio,
        perUnit: cost(q),
      };
    }
    return undefined;
  };
  for (;;) {
    const hungry = names
      .filter((q) => (given[q] ?? 0) < (asked[q] ?? 0) && limits[q] === undefined)
      .sort((a, b) => (given[a] ?? 0) - (given[b] ?? 0) || (a < b ? -1 : 1));
    if (hungry.length === 0) break;
    let added = false;
    for (const q of hungry) {
      const stop = blocked(q);
      if (stop) {
        // A unit bound stops every queue; the CPU stops this one (a cheaper one may still fit).
        if (stop.signal === 'cpu') limits[q] = stop;
        else for (const h of hungry) limits[h] = stop;
        if (stop.signal !== 'cpu') break;
        continue;
      }
      given[q] = (given[q] ?? 0) + 1;
      units += 1;
      cores += cost(q);
      added = true;
      break;
    }
    if (!added) break;
  }
  return { given, limits };
}
