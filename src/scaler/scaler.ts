import { EventEmitter } from 'node:events';
import type { Logger } from '../logging/logger.js';
import { equilibriumLine, planReasonText, scaleDownLine, scaleUpLine } from '../logging/scaling-lines.js';
import { coerceError } from '../lib/errors.js';
import { sleep, systemClock, type Clock } from '../lib/sleep.js';
import {
  decideScale,
  EMPTY_MEMORY,
  type CapacityBound,
  type QueueObservation,
  type QueuePlan,
  type ScaleLimits,
  type ScaleMemory,
} from './decide.js';
import type { DecisionRecord } from '../shared/decision-record.js';
import type { FinishedJob } from './knee.js';
import type { DecisionHistory } from './decision-history.js';
import type { QueueDepth, QueueDepthSource } from './queue-depth.js';
import { assignUnits, describeSplit, poolCapacity, type AssignableInstance, type Assignment } from './assign.js';
import { membersWithSelf, type ScalerCluster } from './scaler-cluster.js';

/** One queue's observed job times: median S, how many, and the recent finished jobs. */
export interface JobTimeSample {
  readonly seconds: number;
  readonly samples: number;
  readonly finished?: readonly FinishedJob[];
}

/** What the scaler needs of the worker pool. */
export interface ScaledPool {
  counts(queue: string): { readonly live: number };
  setTarget(queue: string, target: number): void;
}

export interface ScalerOptions {
  readonly source: QueueDepthSource;
  readonly pool: ScaledPool;
  readonly limits: ScaleLimits;
  readonly history?: DecisionHistory;
  /** Several instances: decide on the global counts, apply this instance's share. */
  readonly cluster?: ScalerCluster;
  readonly logger: Logger;
  /** Time between evaluations. @defaultValue 60000 (the seed's 60 s) */
  readonly intervalMs: number;
  /** Early evaluations after nudges happen at most this often, per kind of nudge. @defaultValue 1000 */
  readonly debounceMs: number;
  /** winston level of `[EQUILIBRIO]` lines. @defaultValue 'debug' */
  readonly equilibriumLogLevel: string;
  /** Every time the scaler reads (loop, debounce, stabilization). @defaultValue Date.now */
  readonly clock?: Clock;
  /** This instance's capacity now (absent: the plain rule). */
  readonly capacity?: () => CapacityBound | undefined;
  /** Observed job times per queue (the learned divisor's S) and recently finished jobs (the knee). */
  readonly jobTimes?: {
    sample(queues: readonly string[]): Promise<Record<string, JobTimeSample>>;
  };
}

export interface ScalerEvents {
  /** `reporter`: this instance logs and records the decision (alone, or first live by id). */
  evaluated: [plans: readonly QueuePlan[], depths: readonly QueueDepth[], reporter: boolean];
}

/**
 * The thin loop around {@link decideScale}: sample, decide, apply, log, record. Runs every
 * interval and, debounced, soon after the bridge reports new items, so a burst never waits a tick.
 * The debounce spaces the nudged evaluations only: a tick or a window's end just before a burst
 * must not hold the burst's first decision back. New items are spaced from the last evaluation
 * new items asked for, not from one that a finished job or a capacity reading asked for: those
 * come every second on a busy instance, and a burst must not wait behind them.
 */
export class Scaler extends EventEmitter<ScalerEvents> {
  readonly #options: ScalerOptions;
  readonly #clock: Clock;
  readonly #stop = new AbortController();
  #memory: ScaleMemory = EMPTY_MEMORY;
  #wake: AbortController = new AbortController();
  /** When the last nudged evaluation ran (the debounce spaces these, not the ticks). */
  #lastNudgedAt = Number.NEGATIVE_INFINITY;
  /** When the last evaluation that new items asked for ran (spaced only among themselves). */
  #lastItemsAt = Number.NEGATIVE_INFINITY;
  #windowEndsAt: number | undefined;
  /** When the next postponed job comes due: evaluate then, so a batch due at 08:00 gets workers at once. */
  #nextDueAt: number | undefined;
  #nudged = false;
  /** The pending nudge came with new items. */
  #items = false;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #reporting = false;
  #last: readonly QueuePlan[] = [];
  #lastAssignment: Readonly<Assignment> = {};
  #lastDepths: readonly QueueDepth[] = [];
  #lastJobTimes: Readonly<Record<string, JobTimeSample>> = {};
  constructor(options: ScalerOptions) {
    super();
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** The latest plans and samples (for the status API and metrics). */
  /** Whether this instance reported the last decision (alone, or first live by id): it also reports the alerts. */
  get reporting(): boolean {
    return this.#reporting;
  }
  get lastPlans(): readonly QueuePlan[] {
    return this.#last;
  }
  get lastDepths(): readonly QueueDepth[] {
    return this.#lastDepths;
  }
  /** The latest split of the global targets among instances (empty for a single instance). */
  get lastAssignment(): Readonly<Assignment> {
    return this.#lastAssignment;
  }
  /** The job times the last evaluation saw, per queue. */
  get lastJobTimes(): Readonly<Record<string, JobTimeSample>> {
    return this.#lastJobTimes;
  }
  start(): void {
    this.#loop ??= this.#run();
  }
  /**
   * Something changed: evaluate soon (within `debounceMs`), not at the next tick. `items`: new work
   * arrived (the bridge moved items, another instance did): evaluated at once unless another
   * items evaluation ran within `debounceMs`. `change` (jobs finished, the capacity moved, an
   * instance came or went): at most once per `debounceMs` of early evaluations.
   */
  nudge(kind: 'items' | 'change' = 'change'): void {
    const wasItems = this.#items;
    if (kind === 'items') this.#items = true;
    // A pending change nudge may be waiting out its debounce: new items must not wait with it.
    if (this.#nudged && (kind !== 'items' || wasItems)) return;
    this.#nudged = true;
    this.#wake.abort();
  }
  async #run(): Promise<void> {
    const { intervalMs, debounceMs } = this.#options;
    let nextTickAt = 0;
    while (!this.#stop.signal.aborted) {
      const now = this.#clock();
      // A wall clock stepped back must not push the next tick (or the debounce) that far away.
      if (nextTickAt - now > intervalMs) nextTickAt = now;
      if (this.#lastNudgedAt > now) this.#lastNudgedAt = now - debounceMs;
      if (this.#lastItemsAt > now) this.#lastItemsAt = now - debounceMs;
      const tickDue = now >= nextTickAt;
      const windowDue =
        (this.#windowEndsAt !== undefined && now >= this.#windowEndsAt) ||
        (this.#nextDueAt !== undefined && now >= this.#nextDueAt);
      if (tickDue || windowDue || this.#nudged) {
        const early = !tickDue && !windowDue;
        const sinceLast = now - (this.#items ? this.#lastItemsAt : this.#lastNudgedAt);
        if (early && sinceLast < debounceMs) {
          // Woken early by an items nudge that arrives meanwhile (it may be due before this one).
          this.#wake = new AbortController();
          await sleep(debounceMs - sinceLast, AbortSignal.any([this.#stop.signal, this.#wake.signal]));
          continue;
        }
        if (early) this.#lastNudgedAt = now;
        if (early && this.#items) this.#lastItemsAt = now;
        this.#nudged = false;
        this.#items = false;
        // Set again by a successful evaluation; a failed one must not spin on a past due time.
        this.#nextDueAt = undefined;
        if (tickDue) nextTickAt = now + intervalMs;
        await this.evaluate({ tick: tickDue });
        continue;
      }
      this.#wake = new AbortController();
      if (this.#nudged) continue;
      const wakeAt = Math.min(nextTickAt, this.#windowEndsAt ?? Infinity, this.#nextDueAt ?? Infinity);
      await sleep(wakeAt - now, AbortSignal.any([this.#stop.signal, this.#wake.signal]));
    }
  }

  /**
   * One evaluation; errors are logged, never thrown (the loop must survive a Redis outage).
   * A `tick` (the periodic one) logs `[EQUILIBRIO]` and records every queue's decision; an early
   * one (new items, finished jobs, an ending stabilization window) only logs and records changes.
   */
  async evaluate({ tick = true }: { tick?: boolean } = {}): Promise<readonly QueuePlan[]> {
    if (this.#options.cluster?.fenced?.()) {
      this.#windowEndsAt = undefined; // fenced: starts nothing; a window ending meanwhile must not spin
      return this.#last;
    }
    const { source, pool, limits, logger } = this.#options;
    let depths: QueueDepth[];
    try {
      depths = await source.sample();
    } catch (err) {
      logger.warn(`scaler não conseguiu ler as filas: ${coerceError(err).message}; mantendo os workers atuais`);
      return this.#last;
    }
    let members: AssignableInstance[] | undefined;
    const cluster = this.#options.cluster;
    try {
      members = cluster ? await membersWithSelf(cluster) : undefined;
    } catch (err) {
      logger.warn(
        `scaler não conseguiu ler as outras instâncias: ${coerceError(err).message}; mantendo os workers atuais`,
      );
      return this.#last;
    }
    const jobTimes = await this.#sampleJobTimes(depths.map((d) => d.queue));
    const now = this.#clock();
    const observed: QueueObservation[] = depths.map((d) => {
      const times = jobTimes[d.queue];
      return {
        queue: d.queue,
        pending: d.pending,
        current: members ? sum(members, d.queue) : pool.counts(d.queue).live,
        ...(times ? { jobTime: { seconds: times.seconds, samples: times.samples } } : {}),
        ...(times?.finished ? { finished: times.finished } : {}),
      };
    });
    const decision = decideScale(
      observed,
      limits,
      this.#memory,
      now,
      members && members.length > 1 ? poolCapacity(members) : this.#options.capacity?.(),
    );
    this.#memory = decision.memory;
    // One instance alone keeps the decision as it is (its own capacity bound already applied).
    const assignment =
      members && members.length > 1
        ? assignUnits(Object.fromEntries(decision.plans.map((p) => [p.queue, p.target])), members)
        : undefined;
    // One instance writes the decision lines and history (the first by id); the rest log at debug.
    const reporter = !members || members[0]?.id === this.#options.cluster?.selfId;
    // Apply scale-downs first so the room they free is there for scale-ups under the total cap.
    const ordered = [...decision.plans].sort((a, b) => rank(a) - rank(b));
    for (const plan of ordered) {
      // One instance alone writes the seed's line unchanged.
      const split = assignment && members && members.length > 1 ? describeSplit(plan.queue, assignment, members) : '';
      if (tick || plan.action !== 'hold') this.#log(plan, split, reporter);
      const mine = assignment?.[this.#options.cluster?.selfId ?? '']?.[plan.queue];
      pool.setTarget(plan.queue, mine ?? plan.target);
    }
    this.#lastAssignment = assignment ?? {};
    this.#last = decision.plans;
    this.#lastDepths = depths;
    this.#windowEndsAt = this.#nextWindowEnd(now);
    this.#nextDueAt = this.#nextDue(depths);
    this.#reporting = reporter;
    this.emit('evaluated', decision.plans, depths, reporter);
    if (reporter) {
      await this.#record(
        decision.plans.filter((p) => tick || p.action !== 'hold'),
        now,
      );
    }
    return decision.plans;
  }

  /** Job times, or the last ones seen when Redis does not answer (the fixed divisor until there are any). */
  async #sampleJobTimes(queues: readonly string[]): Promise<Record<string, JobTimeSample>> {
    const source = this.#options.jobTimes;
    if (!source) return {};
    try {
      this.#lastJobTimes = await source.sample(queues);
    } catch (err) {
      this.#options.logger.warn(`scaler não conseguiu ler os tempos de job: ${coerceError(err).message}`);
    }
    return { ...this.#lastJobTimes };
  }

  /** Wall-clock time when the earliest stabilizing excess may be released (re-evaluate then). */
  #nextWindowEnd(now: number): number | undefined {
    const starts = Object.values(this.#memory.excessSince);
    if (starts.length === 0) return undefined;
    const endsAt = Math.min(...starts) + this.#options.limits.stabilizationMs;
    return this.#clock() + Math.max(0, endsAt - now) + 5;
  }

  /** Wall-clock time just after the earliest delayed job comes due. */
  #nextDue(depths: readonly QueueDepth[]): number | undefined {
    const due = depths.map((d) => d.nextDueAt).filter((t): t is number => t !== null && t !== undefined);
    // +5 ms: the delayed set's score resolution is 1 ms; evaluate once the job counts as due.
    return due.length === 0 ? undefined : Math.min(...due) + 5;
  }

  #log(plan: QueuePlan, split: string, reporter: boolean): void {
    const { logger, equilibriumLogLevel } = this.#options;
    const meta = { queue: plan.queue, reason: planReasonText(plan.reason), bound: plan.bound };
    const level = reporter ? 'info' : 'debug';
    if (plan.action === 'up')
      logger.log(level, scaleUpLine(plan.queue, plan.pending, plan.current, plan.target, split), meta);
    else if (plan.action === 'down')
      logger.log(level, scaleDownLine(plan.queue, plan.pending, plan.current, plan.target, split), meta);
    else
      logger.log(
        reporter ? equilibriumLogLevel : 'debug',
        equilibriumLine(plan.queue, plan.pending, plan.current),
        meta,
      );
  }

  async #record(plans: readonly QueuePlan[], now: number): Promise<void> {
    const history = this.#options.history;
    if (!history) return;
    const records: DecisionRecord[] = plans.map((p) => ({
      at: now,
      queue: p.queue,
      pending: p.pending,
      current: p.current,
      desired: p.desired,
      target: p.target,
      action: p.action,
      reason: planReasonText(p.reason),
    }));
    try {
      await history.append(records);
    } catch (err) {
      this.#options.logger.warn(`não foi possível registrar as decisões de escala: ${coerceError(err).message}`);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      await this.#loop;
    })();
    return this.#closing;
  }
}

function sum(members: readonly AssignableInstance[], queue: string): number {
  return members.reduce((total, m) => total + (m.units[queue] ?? 0), 0);
}

function rank(plan: QueuePlan): number {
  return plan.action === 'down' ? 0 : plan.action === 'hold' ? 1 : 2;
}
