import type { Logger } from '../logging/logger.js';
import type { Clock } from '../lib/sleep.js';
import type { UnitState } from '../workers/unit-state.js';

/** The worker pool's seams: what it needs of a unit and of the global slots, its options and counts. */

/** What the pool needs of a worker unit. */
export interface PoolUnit {
  readonly name: string;
  readonly state: UnitState;
  /** The unit reports every transition; the pool listens from creation on. */
  on(event: 'state', listener: (to: UnitState, from: UnitState) => void): unknown;
  /** Resolves when the unit can take jobs (its browser launched); rejects when it could not start. */
  start(): Promise<void>;
  /** Takes no new job, finishes the current one, then closes. Idempotent. */
  retire(): Promise<void>;
  /** Aborts the running job and closes now (the job returns to waiting). Idempotent. */
  forceClose(): Promise<void>;
}

/** Makes the unit of `queue` numbered `index` (`Worker-<queue>-<index>`). */
export type UnitFactory = (queue: string, index: number) => PoolUnit;

/**
 * Unit slots shared by several instances (CONTRACT.md "Several instances"): a unit starts only
 * under a slot, and the slot's number is the unit's number, so names are unique across instances.
 */
export interface UnitSlots {
  /** The lowest free slot of `queue` within the global caps; null when none is free. */
  claim(queue: string): Promise<number | null>;
  release(queue: string, index: number): Promise<void>;
}

export interface WorkerPoolOptions {
  /**
   * Per-queue ceilings, counting starting and draining units; its keys are the pool's queues. Read
   * at every start, so a getter may hand the pool caps that change at run time (the caps stored
   * for several instances).
   */
  readonly maxWorkersByQueue: Readonly<Record<string, number>>;
  /** Ceiling over all queues, counting starting and draining units. Read at every start, like the above. */
  readonly maxTotalWorkers: number;
  readonly createUnit: UnitFactory;
  /** Global slots; without them the pool numbers its units itself (one instance). */
  readonly slots?: UnitSlots;
  /**
   * True while the instance has fenced itself (read from its owner, the self-fence): no unit
   * starts, and a slot claim granted meanwhile is given back. @defaultValue never fenced
   */
  readonly fenced?: () => boolean;
  readonly logger: Logger;
  /** Wait after a unit failed to start before starting another for that queue. @defaultValue 2000 */
  readonly startRetryMs?: number;
  /** Wall clock for the start back-off. @defaultValue Date.now */
  readonly clock?: Clock;
}

export interface PoolCloseOptions {
  /** Graceful phase: how long running jobs may take before units are forced. @defaultValue no limit */
  readonly graceMs?: number;
  /** Forced phase: how long forced units may take (they may wait on an unreachable Redis). @defaultValue 10000 */
  readonly forceMs?: number;
}

export interface QueueUnitCounts {
  /** Starting, ready or busy: what the scaler counts as the queue's workers. */
  readonly live: number;
  readonly starting: number;
  readonly ready: number;
  readonly busy: number;
  readonly draining: number;
  /** Every unit not closed: what the caps count. */
  readonly counted: number;
  readonly target: number;
  readonly names: readonly string[];
}

export interface WorkerPoolEvents {
  'unit-state': [queue: string, unit: string, state: UnitState];
  'start-failed': [queue: string, unit: string, error: Error];
}
