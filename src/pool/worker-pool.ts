import { EventEmitter } from 'node:events';
import { workerStartedLine, workerStoppedLine } from '../logging/scaling-lines.js';
import { coerceError } from '../lib/errors.js';
import { sleep, systemClock, type Clock } from '../lib/sleep.js';
import type { UnitState } from '../workers/unit-state.js';
import { LIVE, lowestFreeIndex, retireOrder, type UnitRecord } from './pool-records.js';
import { closeInTwoPhases } from './pool-shutdown.js';
import type {
  PoolCloseOptions,
  PoolUnit,
  QueueUnitCounts,
  UnitSlots,
  WorkerPoolEvents,
  WorkerPoolOptions,
} from './pool-types.js';

export type {
  PoolCloseOptions,
  PoolUnit,
  QueueUnitCounts,
  UnitFactory,
  UnitSlots,
  WorkerPoolEvents,
  WorkerPoolOptions,
} from './pool-types.js';

/**
 * Holds the worker units of every queue and brings each queue to its target, never above the caps
 * (counting units still starting and still draining). Scale-down retires starting and idle units
 * first and busy ones last; retiring never interrupts a job. Closing is graceful, then forced.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #records = new Map<string, UnitRecord[]>();
  readonly #targets = new Map<string, number>();
  readonly #startBlockedUntil = new Map<string, number>();
  /** Slot claims on their way, per queue: counted as starting units. */
  readonly #claiming = new Map<string, number>();
  readonly #retryScheduled = new Set<string>();
  readonly #pending = new Set<Promise<unknown>>();
  /** Aborted when closing starts: no more starts, back-off waits end. */
  readonly #stop = new AbortController();
  readonly #options: WorkerPoolOptions;
  readonly #clock: Clock;
  /** Bumped by {@link forceCloseAll}: a slot claim sent before it must not start a unit after it. */
  #forcedAll = 0;
  /** A slot release failed and was logged; the next failure is not (the heartbeat frees the slot). */
  #releaseFailing = false;
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

  /**
   * Live units (starting, ready, busy) per queue: the one count of this instance's units that its
   * heartbeat publishes, its scaler splits on and `/api/status` shows.
   */
  liveByQueue(): Record<string, number> {
    return Object.fromEntries(this.queues().map((queue) => [queue, this.counts(queue).live]));
  }

  /** Units not closed yet, over all queues (a forced unit counts until its browser and Worker are gone). */
  openUnits(): number {
    let total = 0;
    for (const records of this.#records.values()) total += records.filter((r) => r.unit.state !== 'closed').length;
    return total;
  }

  /**
   * The slots this instance holds, for the heartbeat to hand Redis (which renews those and releases
   * any other slot recorded for this instance): every open unit's, and the queues with a claim on
   * its way (their slot number is not known yet).
   */
  slotsHeld(): { held: { queue: string; n: number }[]; claiming: string[] } {
    const held: { queue: string; n: number }[] = [];
    for (const [queue, records] of this.#records) {
      for (const r of records) if (r.unit.state !== 'closed') held.push({ queue, n: r.index });
    }
    const claiming = [...this.#claiming].filter(([, n]) => n > 0).map(([queue]) => queue);
    return { held, claiming };
  }

  /** Open units and slot claims on their way, over all queues. */
  totalCounted(): number {
    let total = this.openUnits();
    for (const n of this.#claiming.values()) total += n;
    return total;
  }

  /**
   * Retires the live units whose slot this instance no longer holds (its heartbeat lapsed and
   * another instance may have the slot now). Units claimed after `since` are not judged: the list
   * of held slots was read before them.
   */
  retireLapsed(held: readonly { queue: string; n: number }[], since: number): void {
    if (!this.#options.slots) return;
    const keep = new Set(held.map((h) => `${h.queue}|${h.n}`));
    for (const [queue, records] of this.#records) {
      for (const r of records) {
        if (!LIVE.has(r.unit.state) || r.claimedAt >= since || keep.has(`${queue}|${r.index}`)) continue;
        this.#options.logger.warn(`Worker '${r.unit.name}' perdeu sua vaga (heartbeat atrasado): retirando`, {
          queue,
        });
        this.#retire(queue, r.unit);
      }
    }
  }

  queues(): string[] {
    return [...this.#records.keys()];
  }

  /**
   * The instance fenced itself (it may lose its slots): forces every unit to close now (their
   * running jobs are interrupted and return to waiting through the stalled check); a slot claim
   * sent before is given back when granted. Nothing starts while `fenced()` says so. Returns how
   * many units it closed.
   */
  forceCloseAll(): number {
    this.#forcedAll += 1;
    const open = [...this.#records.values()].flat().filter((r) => r.unit.state !== 'closed');
    for (const r of open) this.#track(r.unit.forceClose().catch(() => undefined));
    return open.length;
  }

  #fenced(): boolean {
    return this.#options.fenced?.() ?? false;
  }

  #reconcile(queue: string): void {
    const records = this.#records.get(queue);
    if (!records || this.#stop.signal.aborted || this.#fenced()) return;
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
    const claiming = this.#claiming.get(queue) ?? 0;
    const toStart = Math.min(target - live.length - claiming, queueRoom - claiming, totalRoom);
    for (let i = 0; i < toStart; i++) {
      if (this.#options.slots) this.#claimAndStart(queue, this.#options.slots);
      else this.#startUnit(queue, records, lowestFreeIndex(records));
    }
  }

  /** Several instances: a unit starts only under a global slot, numbered by it. */
  #claimAndStart(queue: string, slots: UnitSlots): void {
    this.#claiming.set(queue, (this.#claiming.get(queue) ?? 0) + 1);
    const done = (): void => void this.#claiming.set(queue, (this.#claiming.get(queue) ?? 1) - 1);
    const forcedAll = this.#forcedAll;
    this.#track(
      slots.claim(queue).then(
        (index) => {
          done();
          const records = this.#records.get(queue) ?? [];
          const live = records.filter((r) => LIVE.has(r.unit.state)).length;
          const taken = records.some((r) => r.unit.state !== 'closed' && r.index === index);
          if (index === null) return this.#retryLater(queue);
          // Taken: the slot was given back and granted again to an open unit, which keeps it.
          if (taken) return;
          const stale = forcedAll !== this.#forcedAll || this.#fenced();
          if (stale || this.#stop.signal.aborted || live >= (this.#targets.get(queue) ?? 0)) {
            this.#releaseSlot(slots, queue, index);
            return;
          }
          this.#startUnit(queue, records, index);
        },
        (err: unknown) => {
          done();
          this.#options.logger.warn(`não foi possível obter uma vaga de worker: ${coerceError(err).message}`, {
            queue,
          });
          this.#retryLater(queue);
        },
      ),
    );
  }

  /** No slot was free (other instances hold them): look again shortly, the target may still want it. */
  #retryLater(queue: string): void {
    if (this.#retryScheduled.has(queue) || this.#stop.signal.aborted) return;
    this.#retryScheduled.add(queue);
    void sleep(this.#options.startRetryMs ?? 2000, this.#stop.signal).then(() => {
      this.#retryScheduled.delete(queue);
      this.#reconcile(queue);
    });
  }

  #startUnit(queue: string, records: UnitRecord[], index: number): void {
    const unit = this.#options.createUnit(queue, index);
    const record: UnitRecord = { index, unit, claimedAt: this.#clock() };
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
          this.#options.logger.error(`Worker '${unit.name}' não pôde iniciar: ${error.message}`, { queue });
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
        this.#options.logger.warn(`Worker '${unit.name}' não se retirou normalmente: ${coerceError(err).message}`, {
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
    const slots = this.#options.slots;
    if (slots) this.#releaseSlot(slots, queue, record.index);
    this.#options.logger.info(workerStoppedLine(record.unit.name, queue, this.counts(queue).live), {
      queue,
      worker: record.unit.name,
    });
    if (this.#stop.signal.aborted) return;
    // A unit that closed on its own (not retired) leaves a gap; a closed draining unit frees room.
    for (const name of this.#records.keys()) this.#reconcile(name);
  }

  /**
   * Gives a slot back. A failure (Redis away) is logged once until a release succeeds again; the
   * slot is not lost: the next heartbeat hands Redis the slots this instance holds, and Redis
   * releases every other one recorded for it.
   */
  #releaseSlot(slots: UnitSlots, queue: string, n: number): void {
    this.#track(
      slots.release(queue, n).then(
        () => void (this.#releaseFailing = false),
        (err: unknown) => {
          if (this.#releaseFailing) return;
          this.#releaseFailing = true;
          this.#options.logger.warn(
            `vaga ${queue}|${n} não devolvida (${coerceError(err).message}); o próximo heartbeat a devolve`,
            { queue },
          );
        },
      ),
    );
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

  #doClose(graceMs: number, forceMs: number): Promise<void> {
    this.#stop.abort();
    const all = (): PoolUnit[] => [...this.#records.values()].flat().map((r) => r.unit);
    return closeInTwoPhases(all, () => this.#pending, { graceMs, forceMs, logger: this.#options.logger });
  }
}
