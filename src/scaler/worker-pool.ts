import { EventEmitter } from 'node:events';
import type { Logger } from '../logging/logger.js';
import { workerStartedLine, workerStoppedLine } from '../logging/scaling-lines.js';
import { coerceError } from '../lib/errors.js';

/** Lifecycle of a worker unit (the workers module owns the real machine). */
export type PoolUnitState = 'starting' | 'ready' | 'busy' | 'draining' | 'closed';

/** What the pool needs of a worker unit. */
export interface PoolUnit {
  readonly name: string;
  readonly state: PoolUnitState;
  /** Resolves when the unit can take jobs (its browser launched); rejects when it could not start. */
  start(): Promise<void>;
  /** Takes no new job, finishes the current one, then closes. Idempotent. */
  retire(): Promise<void>;
  /** Like retire, but with `force` aborts the running job. Idempotent. */
  close(options?: { force?: boolean }): Promise<void>;
}

/** Makes the unit `Worker-<queue>-<index>`; `onStateChange` must be called on each transition. */
export type UnitFactory = (queue: string, index: number, onStateChange: () => void) => PoolUnit;

export interface WorkerPoolOptions {
  /** Per-queue ceilings, counting starting and draining units. */
  readonly maxWorkersByQueue: Readonly<Record<string, number>>;
  /** Ceiling over all queues, counting starting and draining units. */
  readonly maxTotalWorkers: number;
  readonly createUnit: UnitFactory;
  readonly logger: Logger;
  /** Wait after a unit failed to start before starting another for that queue. @defaultValue 2000 */
  readonly startRetryMs?: number;
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
  'unit-state': [queue: string, unit: string, state: PoolUnitState];
  'start-failed': [queue: string, unit: string, error: Error];
}

const LIVE: ReadonlySet<PoolUnitState> = new Set(['starting', 'ready', 'busy']);

/**
 * Holds the worker units of every queue and brings each queue to its target, never above the caps
 * (counting units still starting and still draining). Scale-down retires starting and idle units
 * first and busy ones last; retiring never interrupts a job.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #units = new Map<string, PoolUnit[]>();
  readonly #targets = new Map<string, number>();
  readonly #startBlockedUntil = new Map<string, number>();
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  readonly #pending = new Set<Promise<unknown>>();
  readonly #options: WorkerPoolOptions;
  #closing: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
    for (const queue of Object.keys(options.maxWorkersByQueue)) this.#units.set(queue, []);
  }

  /** Sets the queue's target and starts or retires units towards it within the caps. */
  setTarget(queue: string, target: number): void {
    if (!this.#units.has(queue)) throw new Error(`unknown queue '${queue}'`);
    if (this.#closing) return;
    this.#targets.set(queue, Math.max(0, target));
    this.#reconcile(queue);
  }

  counts(queue: string): QueueUnitCounts {
    const units = this.#units.get(queue) ?? [];
    const by = (s: PoolUnitState): number => units.filter((u) => u.state === s).length;
    return {
      live: units.filter((u) => LIVE.has(u.state)).length,
      starting: by('starting'),
      ready: by('ready'),
      busy: by('busy'),
      draining: by('draining'),
      counted: units.filter((u) => u.state !== 'closed').length,
      target: this.#targets.get(queue) ?? 0,
      names: units.filter((u) => u.state !== 'closed').map((u) => u.name),
    };
  }

  /** Units not closed, over all queues. */
  totalCounted(): number {
    let total = 0;
    for (const units of this.#units.values()) total += units.filter((u) => u.state !== 'closed').length;
    return total;
  }

  queues(): string[] {
    return [...this.#units.keys()];
  }

  #reconcile(queue: string): void {
    const units = this.#units.get(queue);
    if (!units || this.#closing) return;
    const target = this.#targets.get(queue) ?? 0;
    const live = units.filter((u) => LIVE.has(u.state));
    if (live.length > target) {
      for (const unit of this.#retireOrder(live).slice(0, live.length - target)) this.#retire(queue, unit);
      return;
    }
    const blockedUntil = this.#startBlockedUntil.get(queue) ?? 0;
    if (Date.now() < blockedUntil) return;
    const queueRoom = (this.#options.maxWorkersByQueue[queue] ?? 0) - units.filter((u) => u.state !== 'closed').length;
    const totalRoom = this.#options.maxTotalWorkers - this.totalCounted();
    const toStart = Math.min(target - live.length, queueRoom, totalRoom);
    for (let i = 0; i < toStart; i++) this.#startUnit(queue);
  }

  #retireOrder(live: PoolUnit[]): PoolUnit[] {
    const rank: Record<string, number> = { starting: 0, ready: 1, busy: 2 };
    return [...live].sort((a, b) => (rank[a.state] ?? 3) - (rank[b.state] ?? 3) || indexOf(b.name) - indexOf(a.name));
  }

  #freeIndex(queue: string): number {
    const used = new Set(
      (this.#units.get(queue) ?? []).filter((u) => u.state !== 'closed').map((u) => indexOf(u.name)),
    );
    let index = 1;
    while (used.has(index)) index++;
    return index;
  }

  #startUnit(queue: string): void {
    const units = this.#units.get(queue);
    if (!units) return;
    const index = this.#freeIndex(queue);
    // The unit reports transitions through this callback, which needs the unit it reports for.
    const holder: { unit?: PoolUnit } = {};
    const onStateChange = (): void => {
      const unit = holder.unit;
      if (!unit) return;
      this.emit('unit-state', queue, unit.name, unit.state);
      if (unit.state === 'closed') this.#onClosed(queue, unit);
    };
    const created = this.#options.createUnit(queue, index, onStateChange);
    holder.unit = created;
    units.push(created);
    this.#track(
      created.start().then(
        () => {
          if (created.state === 'closed' || created.state === 'draining') return;
          // Like the seed's "Total de <queue>: N": the units already running, not those still starting.
          const running = this.counts(queue);
          this.#options.logger.info(workerStartedLine(created.name, queue, running.ready + running.busy), {
            queue,
            worker: created.name,
          });
          this.#reconcile(queue);
        },
        (err: unknown) => {
          const error = coerceError(err);
          this.#options.logger.error(`Worker '${created.name}' could not start: ${error.message}`, { queue });
          this.emit('start-failed', queue, created.name, error);
          this.#blockStarts(queue);
          this.#track(created.close({ force: true }).catch(() => undefined));
        },
      ),
    );
  }

  #blockStarts(queue: string): void {
    const wait = this.#options.startRetryMs ?? 2000;
    this.#startBlockedUntil.set(queue, Date.now() + wait);
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      this.#reconcile(queue);
    }, wait + 10);
    this.#retryTimers.add(timer);
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

  #onClosed(queue: string, unit: PoolUnit): void {
    const units = this.#units.get(queue);
    if (!units) return;
    const at = units.indexOf(unit);
    if (at < 0) return;
    units.splice(at, 1);
    this.#options.logger.info(workerStoppedLine(unit.name, queue, this.counts(queue).live), {
      queue,
      worker: unit.name,
    });
    if (this.#closing) return;
    // A unit that closed on its own (not retired) leaves a gap; a closed draining unit frees room.
    for (const name of this.#units.keys()) this.#reconcile(name);
  }

  #track(promise: Promise<unknown>): void {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise));
  }

  /** Graceful: retire every unit and wait for their jobs. Forceful when `force` (or called again with it). */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) return this.#forceClose();
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    for (const timer of this.#retryTimers) clearTimeout(timer);
    const all = [...this.#units.values()].flat();
    await Promise.allSettled(all.map((u) => u.retire()));
    await Promise.allSettled([...this.#pending]);
  }

  async #forceClose(): Promise<void> {
    this.#closing ??= this.#doClose();
    const all = [...this.#units.values()].flat();
    await Promise.allSettled(all.map((u) => u.close({ force: true })));
    await Promise.allSettled([...this.#pending]);
  }
}

function indexOf(name: string): number {
  const match = /-(\d+)$/.exec(name);
  return match ? Number(match[1]) : 0;
}
