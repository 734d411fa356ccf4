import { EventEmitter } from 'node:events';
import type { Logger } from '../logging/logger.js';
import { workerStartedLine, workerStoppedLine } from '../logging/scaling-lines.js';
import { coerceError } from '../lib/errors.js';
import { sleep, systemClock, type Clock } from '../lib/sleep.js';
import type { UnitState } from '../workers/unit-state.js';

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

export interface WorkerPoolOptions {
  /** Per-queue ceilings, counting starting and draining units. */
  readonly maxWorkersByQueue: Readonly<Record<string, number>>;
  /** Ceiling over all queues, counting starting and draining units. */
  readonly maxTotalWorkers: number;
  readonly createUnit: UnitFactory;
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

/** One unit the pool holds, with the index it was created under. */
interface UnitRecord {
  readonly index: number;
  readonly unit: PoolUnit;
}

const LIVE: ReadonlySet<UnitState> = new Set(['starting', 'ready', 'busy']);
const RETIRE_RANK: Readonly<Partial<Record<UnitState, number>>> = { starting: 0, ready: 1, busy: 2 };

/**
 * Holds the worker units of every queue and brings each queue to its target, never above the caps
 * (counting units still starting and still draining). Scale-down retires starting and idle units
 * first and busy ones last; retiring never interrupts a job. Closing is graceful, then forced.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #records = new Map<string, UnitRecord[]>();
  readonly #targets = new Map<string, number>();
  readonly #startBlockedUntil = new Map<string, number>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Aborted when closing starts: no more starts, back-off waits end. */
  readonly #stop = new AbortController();
  readonly #options: WorkerPoolOptions;
  readonly #clock: Clock;
  #closing: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    for (const queue of Object.keys(options.maxWorkersByQueue)) this.#records.set(queue, []);
  }

  /** Sets the queue's target and starts or retires units towards it within the caps. */
  setTarget(queue: string, target: number): void {
    if (!this.#records.has(queue)) throw new Error(`unknown queue '${queue}'`);
    if (this.#stop.signal.aborted) return;
    this.#targets.set(queue, Math.max(0, target));
    this.#reconcile(queue);
  }

  counts(queue: string): QueueUnitCounts {
    const units = (this.#records.get(queue) ?? []).map((r) => r.unit);
    const by = (s: UnitState): number => units.filter((u) => u.state === s).length;
    const open = units.filter((u) => u.state !== 'closed');
    return {
      live: units.filter((u) => LIVE.has(u.state)).length,
      starting: by('starting'),
      ready: by('ready'),
      busy: by('busy'),
      draining: by('draining'),
      counted: open.length,
      target: this.#targets.get(queue) ?? 0,
      names: open.map((u) => u.name),
    };
  }

  /** Units not closed, over all queues. */
  totalCounted(): number {
    let total = 0;
    for (const records of this.#records.values()) total += records.filter((r) => r.unit.state !== 'closed').length;
    return total;
  }

  queues(): string[] {
    return [...this.#records.keys()];
  }

  #reconcile(queue: string): void {
    const records = this.#records.get(queue);
    if (!records || this.#stop.signal.aborted) return;
    const target = this.#targets.get(queue) ?? 0;
    const live = records.filter((r) => LIVE.has(r.unit.state));
    if (live.length > target) {
      for (const record of retireOrder(live).slice(0, live.length - target)) this.#retire(queue, record.unit);
      return;
    }
    if (this.#clock() < (this.#startBlockedUntil.get(queue) ?? 0)) return;
    const queueRoom =
      (this.#options.maxWorkersByQueue[queue] ?? 0) - records.filter((r) => r.unit.state !== 'closed').length;
    const totalRoom = this.#options.maxTotalWorkers - this.totalCounted();
    const toStart = Math.min(target - live.length, queueRoom, totalRoom);
    for (let i = 0; i < toStart; i++) this.#startUnit(queue, records);
  }

  #startUnit(queue: string, records: UnitRecord[]): void {
    const used = new Set(records.filter((r) => r.unit.state !== 'closed').map((r) => r.index));
    let index = 1;
    while (used.has(index)) index++;
    const unit = this.#options.createUnit(queue, index);
    const record: UnitRecord = { index, unit };
    records.push(record);
    unit.on('state', (to) => {
      this.emit('unit-state', queue, unit.name, to);
      if (to === 'closed') this.#onClosed(queue, record);
    });
    this.#track(
      unit.start().then(
        () => {
          if (unit.state === 'closed' || unit.state === 'draining') return;
          // Like the seed's "Total de <queue>: N": the units already running, not those still starting.
          const running = this.counts(queue);
          this.#options.logger.info(workerStartedLine(unit.name, queue, running.ready + running.busy), {
            queue,
            worker: unit.name,
          });
          this.#reconcile(queue);
        },
        (err: unknown) => {
          const error = coerceError(err);
          this.#options.logger.error(`Worker '${unit.name}' could not start: ${error.message}`, { queue });
          this.emit('start-failed', queue, unit.name, error);
          this.#blockStarts(queue);
          this.#track(unit.forceClose().catch(() => undefined));
        },
      ),
    );
  }

  #blockStarts(queue: string): void {
    const waitMs = this.#options.startRetryMs ?? 2000;
    this.#startBlockedUntil.set(queue, this.#clock() + waitMs);
    void sleep(waitMs + 10, this.#stop.signal).then(() => this.#reconcile(queue));
  }

  #retire(queue: string, unit: PoolUnit): void {
    this.#track(
      unit.retire().catch((err: unknown) => {
        this.#options.logger.warn(`Worker '${unit.name}' did not retire cleanly: ${coerceError(err).message}`, {
          queue,
        });
      }),
    );
  }

  #onClosed(queue: string, record: UnitRecord): void {
    const records = this.#records.get(queue);
    if (!records) return;
    const at = records.indexOf(record);
    if (at < 0) return;
    records.splice(at, 1);
    this.#options.logger.info(workerStoppedLine(record.unit.name, queue, this.counts(queue).live), {
      queue,
      worker: record.unit.name,
    });
    if (this.#stop.signal.aborted) return;
    // A unit that closed on its own (not retired) leaves a gap; a closed draining unit frees room.
    for (const name of this.#records.keys()) this.#reconcile(name);
  }

  #track(promise: Promise<unknown>): void {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise));
  }

  /**
   * Two phases: retire every unit and let running jobs finish for up to `graceMs`; then force the
   * rest (their jobs return to waiting) and wait up to `forceMs` for them. Idempotent.
   */
  close(options: PoolCloseOptions = {}): Promise<void> {
    return (this.#closing ??= this.#doClose(options.graceMs ?? Infinity, options.forceMs ?? 10_000));
  }

  async #doClose(graceMs: number, forceMs: number): Promise<void> {
    this.#stop.abort();
    const all = (): PoolUnit[] => [...this.#records.values()].flat().map((r) => r.unit);
    const settled = (units: PoolUnit[], stop: (u: PoolUnit) => Promise<void>): Promise<'done'> =>
      Promise.allSettled([...units.map(stop), ...this.#pending]).then(() => 'done' as const);
    const graceful = settled(all(), (u) => u.retire());
    if ((await raceTimeout(graceful, graceMs)) === 'done') return;
    const { logger } = this.#options;
    logger.warn(
      `active jobs did not finish within ${graceMs / 1000}s; forcing workers to stop (their jobs return to waiting)`,
    );
    const forced = settled(all(), (u) => u.forceClose());
    if ((await raceTimeout(forced, forceMs)) === 'done') return;
    logger.warn(
      'workers still waiting on Redis after being forced; leaving their jobs active (the stalled check returns them to waiting once Redis is back)',
    );
  }
}

/** Starting units first, then idle, then busy; the highest index first within each. */
function retireOrder(live: readonly UnitRecord[]): UnitRecord[] {
  const rank = (r: UnitRecord): number => RETIRE_RANK[r.unit.state] ?? 3;
  return [...live].sort((a, b) => rank(a) - rank(b) || b.index - a.index);
}

async function raceTimeout(work: Promise<'done'>, ms: number): Promise<'done' | 'timeout'> {
  if (!Number.isFinite(ms)) return work;
  const expired = new AbortController();
  const timeout = sleep(ms, expired.signal).then(() => 'timeout' as const);
  const outcome = await Promise.race([work, timeout]);
  expired.abort();
  return outcome;
}
