import type { UnitState } from '../workers/unit-state.js';
import type { PoolUnit } from './pool-types.js';

/** The worker pool's bookkeeping of its units (worker-pool.ts): which are live, which index is free, which retire first. */

/** One unit the pool holds, with the index it was created under. */
export interface UnitRecord {
  readonly index: number;
  readonly unit: PoolUnit;
  /** When its slot was granted (for `WorkerPool.retireLapsed`). */
  readonly claimedAt: number;
}

export const LIVE: ReadonlySet<UnitState> = new Set(['starting', 'ready', 'busy']);
const RETIRE_RANK: Readonly<Partial<Record<UnitState, number>>> = { starting: 0, ready: 1, busy: 2 };

export function lowestFreeIndex(records: readonly UnitRecord[]): number {
  const used = new Set(records.filter((r) => r.unit.state !== 'closed').map((r) => r.index));
  let index = 1;
  while (used.has(index)) index++;
  return index;
}

/** Starting units first, then idle, then busy; the highest index first within each. */
export function retireOrder(live: readonly UnitRecord[]): UnitRecord[] {
  const rank = (r: UnitRecord): number => RETIRE_RANK[r.unit.state] ?? 3;
  return [...live].sort((a, b) => rank(a) - rank(b) || b.index - a.index);
}
