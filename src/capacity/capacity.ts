/**
 * How many worker units this instance can run now, pure: the load windows, the measured CPU per
 * busy unit of each queue and the live units go in; the bounds come out, as numbers and reasons.
 *
 * - **CPU** comes from what the units use: the free CPU (cores × `maxCpuRatio`, minus what other
 *   processes use, the higher of the short and the long window's figure, so a neighbour's pause does
 *   not start units that its return would squeeze; never below cores × `minFreeCpuRatio`, the share
 *   the units may always use) divided by the CPU one busy unit uses. A unit
 *   that waits on a slow portal costs little, so the machine carries many; one that renders heavy
 *   pages costs about a core. A queue without a measurement is not bounded by CPU: it starts what
 *   the rule asks and the start gate holds back more. Units already running are cut for CPU only
 *   while the short window is overloaded (then at once, to what fits).
 * - **Memory**: the headroom under the cgroup limit (or MemAvailable) and an optional budget, at the
 *   measured PSS per browser.
 * - **The start gate** closes while the short window is overloaded (CPU, memory or event loop).
 *
 * The decision fits the queues per queue (src/scaler/capacity-fit.ts); `units` here is the same
 * bound for the current mix of queues, what this instance publishes to the pool and shows.
 */
import type { CapacityConfig } from '../config/types.js';
import type { CapacityLimit, CpuCapacity, OverloadReason } from '../shared/scaling-reason.js';
import type { WindowSummary } from './windows.js';

/** The `capacity.*` settings the computation uses (defaults and meaning in the config schema). */
export type CapacityOptions = Omit<CapacityConfig, 'minJobSamples'>;

export interface Capacity {
  /** Units this instance can run now with its current mix of queues; Infinity: nothing bounds yet. */
  readonly units: number;
  /** Which bound gives `units`, with its numbers. */
  readonly limit: CapacityLimit;
  /** The bound whatever the units run (memory, budget, maxUnits); Infinity: none. */
  readonly otherUnits: number;
  readonly otherLimit: CapacityLimit;
  /** Undefined before the first load samples. */
  readonly cpu: CpuCapacity | undefined;
  /** The start gate: true while the short window is overloaded (no unit starts). */
  readonly overloaded: boolean;
  readonly overload?: OverloadReason;
  /** The memory bound (headroom and budget); null when memory sets none. */
  readonly memoryUnits: number | null;
  readonly unitMemoryMb: number;
}

export interface CapacityInput {
  readonly short: WindowSummary | undefined;
  readonly long: WindowSummary | undefined;
  /** Units of this instance not closed (starting, ready, busy, draining), per queue. */
  readonly units: Readonly<Record<string, number>>;
  /** Measured cores per busy unit, per queue (queues without a measurement left out). */
  readonly perUnit: Readonly<Record<string, number>>;
}

/** Units of cost `cost` that fit in `free` cores, to the nearest unit (one fits when half of it is free). */
export function unitsThatFit(free: number, cost: number): number {
  if (!(cost > 0)) return Infinity;
  return Math.max(0, Math.floor(free / cost + 0.5));
}

/** The cost of one unit of the current mix: weighted by the units each measured queue runs. */
function mixCost(units: Readonly<Record<string, number>>, perUnit: Readonly<Record<string, number>>): number {
  const measured = Object.entries(perUnit);
  if (measured.length === 0) return 0;
  const weight = measured.reduce((sum, [q]) => sum + (units[q] ?? 0), 0);
  if (weight === 0) return measured.reduce((sum, [, c]) => sum + c, 0) / measured.length;
  return measured.reduce((sum, [q, c]) => sum + c * (units[q] ?? 0), 0) / weight;
}

function overloadOf(short: WindowSummary | undefined, options: CapacityOptions): OverloadReason | undefined {
  if (!short) return undefined;
  const o = short.overloaded;
  if (o.memory >= options.overloadedRatio)
    return { signal: 'memory', ratio: short.memoryLimitMb > 0 ? short.memoryUsedMb / short.memoryLimitMb : 1 };
  if (o.cpu >= options.overloadedRatio)
    return {
      signal: 'cpu',
      maxCpuRatio: options.maxCpuRatio,
      share: o.cpu,
      windowSeconds: options.shortWindowSeconds,
      cores: short.cores,
    };
  if (o.eventLoop >= options.overloadedRatio) return { signal: 'eventLoop', delayMs: short.eventLoopDelayMs };
  return undefined;
}

/** Capacity from the windows and the measured costs; without samples, the configured bounds and no gate. */
export function computeCapacity(input: CapacityInput, options: CapacityOptions): Capacity {
  const { short, long } = input;
  const counted = Object.values(input.units).reduce((a, b) => a + b, 0);

  let cpu: CpuCapacity | undefined;
  let cpuUnits = Infinity;
  let cpuLimit: CapacityLimit = { signal: 'none' };
  if (short) {
    const otherCores = Math.max(short.otherCores, long?.otherCores ?? 0);
    const freeCores = Math.max(short.cores * options.minFreeCpuRatio, short.cores * options.maxCpuRatio - otherCores);
    const overloaded = short.overloaded.cpu >= options.overloadedRatio;
    cpu = {
      cores: short.cores,
      freeCores,
      otherCores,
      maxCpuRatio: options.maxCpuRatio,
      perUnit: input.perUnit,
      overloaded,
    };
    const cost = mixCost(input.units, input.perUnit);
    if (cost > 0) {
      cpuUnits = unitsThatFit(freeCores, cost);
      if (!overloaded) cpuUnits = Math.max(cpuUnits, counted);
      cpuLimit = {
        signal: 'cpu',
        cores: short.cores,
        freeCores,
        otherCores,
        maxCpuRatio: options.maxCpuRatio,
        perUnit: cost,
      };
    }
  }

  const perUnitMb =
    short && short.browsersMeasured > 0 ? Math.max(20, short.browserMb / short.browsersMeasured) : options.unitMemoryMb;
  const headroomMb = short ? short.memoryLimitMb - short.memoryUsedMb - options.reserveMemoryMb : Infinity;
  const memoryUnits = counted + Math.floor(headroomMb / perUnitMb);
  const budgetUnits = options.maxMemoryMb > 0 ? Math.floor(options.maxMemoryMb / perUnitMb) : Infinity;
  const configUnits = options.maxUnits > 0 ? options.maxUnits : Infinity;
  const others: [CapacityLimit, number][] = [
    [
      {
        signal: 'memory',
        usedMb: short?.memoryUsedMb ?? 0,
        limitMb: short?.memoryLimitMb ?? 0,
        unitMb: perUnitMb,
      },
      memoryUnits,
    ],
    [{ signal: 'memoryBudget', budgetMb: options.maxMemoryMb, unitMb: perUnitMb }, budgetUnits],
    [{ signal: 'maxUnits', maxUnits: options.maxUnits }, configUnits],
  ];
  const [otherLimitRaw, otherRaw] = others.reduce((a, b) => (b[1] < a[1] ? b : a));
  const otherUnits = Number.isFinite(otherRaw) ? Math.max(options.minUnits, otherRaw) : Infinity;
  const otherLimit: CapacityLimit = Number.isFinite(otherRaw) ? otherLimitRaw : { signal: 'none' };

  const cpuWins = cpuUnits < otherUnits;
  const lowest = cpuWins ? cpuUnits : otherUnits;
  const units = Number.isFinite(lowest) ? Math.max(options.minUnits, lowest) : Infinity;
  const overload = overloadOf(short, options);
  const memoryBound = Math.min(memoryUnits, budgetUnits);
  return {
    units,
    limit: cpuWins ? cpuLimit : otherLimit,
    otherUnits,
    otherLimit,
    cpu,
    overloaded: overload !== undefined,
    ...(overload ? { overload } : {}),
    memoryUnits: Number.isFinite(memoryBound) ? memoryBound : null,
    unitMemoryMb: Math.round(perUnitMb),
  };
}

/**
 * Room an unmeasured queue's next browser needs beside the units at work, in cores: a unit may
 * cost up to a core, and one fits when half of it is free (as in {@link unitsThatFit}).
 */
export const LAUNCH_ROOM_CORES = 0.5;

/**
 * Whether a unit of `queue` waiting to launch its browser should wait longer: before the queue has
 * a measurement, while the units at work (`workingCores`, the last sample's; launches not
 * included) leave less than {@link LAUNCH_ROOM_CORES} of the free CPU. This keeps a burst's blind
 * start from launching browsers the first measurement will retire: on a fast portal two units fill
 * two cores, on a slow one they barely use any. A measured queue is sized by its bound instead.
 * The start gate (the short window overloaded) does not pause launches: the launches themselves
 * fill that window while a slow portal's units idle.
 */
export function launchPaused(
  capacity: Capacity | undefined,
  queue: string | undefined,
  workingCores: number | undefined,
): boolean {
  const cpu = capacity?.cpu;
  if (queue === undefined || !cpu || cpu.perUnit[queue] !== undefined || workingCores === undefined) return false;
  return cpu.freeCores - workingCores < LAUNCH_ROOM_CORES;
}
