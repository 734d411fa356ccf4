/**
 * How many worker units this instance can run now, from its load windows. Pure: the windows, the
 * live unit count and what the last call remembered go in; the capacity and the new memory come
 * out. The CPU bound is the cores not used by other processes (busy cores minus this process and
 * its browsers) times `unitsPerCore`: a machine whose CPU our own browsers fill is *used*, not
 * overloaded, while a busy neighbour takes cores away. It falls at once on the short window and
 * rises only when the long window agrees (Crawlee's pool is slow to come down; this one is slow
 * to go back up). Memory bounds by the headroom under the cgroup limit (or MemAvailable) and an
 * optional budget, at the measured PSS per browser.
 */
import type { CapacityConfig } from '../config/types.js';
import type { WindowSummary } from './windows.js';

/**
 * The `capacity.*` settings the computation uses (defaults and meaning in the config schema); the
 * learned divisor's `minJobSamples` belongs to the scaler.
 */
export type CapacityOptions = Omit<CapacityConfig, 'minJobSamples'>;

export const DEFAULT_CAPACITY: CapacityOptions = Object.freeze({
  enabled: true,
  unitsPerCore: 1,
  minUnits: 1,
  maxUnits: 0,
  maxCpuRatio: 0.95,
  maxMemoryRatio: 0.9,
  maxEventLoopDelayMs: 250,
  overloadedRatio: 0.4,
  shortWindowSeconds: 5,
  longWindowSeconds: 30,
  maxMemoryMb: 0,
  unitMemoryMb: 150,
  reserveMemoryMb: 512,
});

export type CapacitySignal = 'cpu' | 'memory' | 'memoryBudget' | 'maxUnits';

export interface CapacityMemory {
  /** The CPU bound last given (it moves with hysteresis). */
  readonly cpuUnits?: number;
}

export interface Capacity {
  /** Units this instance can run now. */
  readonly units: number;
  /** Which bound gave `units`. */
  readonly limitedBy: CapacitySignal;
  /** Operator text for that bound, e.g. `CPU 97% (2 núcleos)`. */
  readonly reason: string;
  /** The start gate: true while the short window is overloaded (no unit starts). */
  readonly overloaded: boolean;
  /** Which signal overloads, when `overloaded`. */
  readonly overloadedBy?: 'cpu' | 'memory' | 'eventLoop';
  readonly overloadReason?: string;
  readonly cpuUnits: number;
  /** The memory bound (headroom and budget); null when memory sets none. */
  readonly memoryUnits: number | null;
  readonly unitMemoryMb: number;
}

export interface CapacityInput {
  readonly short: WindowSummary | undefined;
  readonly long: WindowSummary | undefined;
  /** Units of this instance not closed (starting, ready, busy, draining). */
  readonly units: number;
  /** Cores, for the bound before any window has samples. @defaultValue 1 */
  readonly cores?: number;
}

const pct = (ratio: number): string => `${Math.round(ratio * 100)}%`;
const num = (value: number): string => (Math.round(value * 10) / 10).toLocaleString('pt-BR');

/** Capacity from the windows; without samples yet, the configured bounds and no gate. */
export function computeCapacity(
  input: CapacityInput,
  options: CapacityOptions,
  memory: CapacityMemory,
): { capacity: Capacity; memory: CapacityMemory } {
  const { short, long } = input;
  const cores = short?.cores ?? long?.cores ?? input.cores ?? 1;
  // A partly free core still carries a unit when at least 0.3 of it is free.
  const byOthers = (w: WindowSummary | undefined): number =>
    Math.ceil(Math.max(0, cores - (w?.otherCores ?? 0)) * options.unitsPerCore - 0.3);
  // Down at once on the short window; up only when the long one agrees.
  const fast = byOthers(short);
  const slow = Math.min(fast, byOthers(long ?? short));
  const previous = memory.cpuUnits;
  let cpuUnits: number;
  if (previous === undefined) cpuUnits = fast;
  else if (fast < previous) cpuUnits = fast;
  else if (slow > previous) cpuUnits = slow;
  else cpuUnits = previous;
  cpuUnits = Math.max(options.minUnits, cpuUnits);

  const perUnit =
    short && short.browsersMeasured > 0 ? Math.max(20, short.browserMb / short.browsersMeasured) : options.unitMemoryMb;
  const headroomMb = short ? short.memoryLimitMb - short.memoryUsedMb - options.reserveMemoryMb : Infinity;
  const memoryUnits = input.units + Math.floor(headroomMb / perUnit);
  const budgetUnits = options.maxMemoryMb > 0 ? Math.floor(options.maxMemoryMb / perUnit) : Infinity;
  const configUnits = options.maxUnits > 0 ? options.maxUnits : Infinity;

  const bounds: [CapacitySignal, number][] = [
    ['cpu', cpuUnits],
    ['memory', memoryUnits],
    ['memoryBudget', budgetUnits],
    ['maxUnits', configUnits],
  ];
  const [limitedBy, lowest] = bounds.reduce((a, b) => (b[1] < a[1] ? b : a));
  const units = Math.max(options.minUnits, Number.isFinite(lowest) ? lowest : cpuUnits);
  const cpuText = `CPU ${pct(short?.cpuRatio ?? 0)} (${num(cores)} núcleos${(short?.otherCores ?? 0) >= 0.05 ? `, ${num(short?.otherCores ?? 0)} usados por outros processos` : ''})`;
  const reason: Record<CapacitySignal, string> = {
    cpu: cpuText,
    memory: `memória ${num((short?.memoryUsedMb ?? 0) / 1024)} de ${num((short?.memoryLimitMb ?? 0) / 1024)} GB (~${Math.round(perUnit)} MB por navegador)`,
    memoryBudget: `orçamento de memória ${options.maxMemoryMb} MB (~${Math.round(perUnit)} MB por navegador)`,
    maxUnits: `capacity.maxUnits ${options.maxUnits}`,
  };

  let overloadedBy: Capacity['overloadedBy'];
  let overloadReason: string | undefined;
  if (short) {
    const o = short.overloaded;
    if (o.memory >= options.overloadedRatio) {
      overloadedBy = 'memory';
      overloadReason = `memória ${pct(short.memoryUsedMb / short.memoryLimitMb)} do limite`;
    } else if (o.cpu >= options.overloadedRatio) {
      overloadedBy = 'cpu';
      overloadReason = `CPU ≥ ${pct(options.maxCpuRatio)} em ${pct(o.cpu)} das amostras de ${options.shortWindowSeconds}s (${num(cores)} núcleos)`;
    } else if (o.eventLoop >= options.overloadedRatio) {
      overloadedBy = 'eventLoop';
      overloadReason = `atraso do event loop ${Math.round(short.eventLoopDelayMs)} ms`;
    }
  }
  return {
    capacity: {
      units,
      limitedBy,
      reason: reason[limitedBy],
      overloaded: overloadedBy !== undefined,
      ...(overloadedBy ? { overloadedBy, overloadReason } : {}),
      cpuUnits,
      memoryUnits: Number.isFinite(Math.min(memoryUnits, budgetUnits)) ? Math.min(memoryUnits, budgetUnits) : null,
      unitMemoryMb: Math.round(perUnit),
    },
    memory: { cpuUnits },
  };
}
