/**
 * The scaling decision, pure: what the seed's monitor computed every 60 s, plus a fair split of the
 * total cap, the machine's capacity, the portal's limits (a queue's `rateLimit`, the knee) and a
 * stabilization window for scale-down. No I/O, no clock of its own. Every plan says which bound
 * held and the numbers behind it (src/shared/scaling-reason.ts); src/logging words them.
 */
import type { ScaleAction } from '../shared/decision-record.js';
import type { PlanReason, RuleReason } from '../shared/scaling-reason.js';
import { fitCapacity, type CapacityBound } from './capacity-fit.js';
import { drainNeed, trackBacklog, type DrainState } from './drain-plan.js';
import { observeKnee, type FinishedJob, type KneeOptions, type KneeState } from './knee.js';

export type { CapacityBound };

/** What the scaler saw of one queue. */
export interface QueueObservation {
  readonly queue: string;
  /** Items still in the source list + BullMQ waiting + prioritized. */
  readonly pending: number;
  /** Live worker units (starting, ready or busy; not draining). */
  readonly current: number;
  /** Observed job time of the queue (rolling median of successful attempts) and how many samples it has. */
  readonly jobTime?: { readonly seconds: number; readonly samples: number };
  /** Recently finished jobs of the queue (all instances), for the knee. */
  readonly finished?: readonly FinishedJob[];
}

/** Per-queue limits (config `queues.<name>`). */
export interface QueueLimits {
  readonly jobsPerWorker: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Set when the divisor is learned (`jobsPerWorker: "auto"`): a backlog drains within this many seconds. */
  readonly targetDrainSeconds?: number;
  /** At most `max` jobs start per `durationMs` (BullMQ's limiter); more units than that keeps busy only wait. */
  readonly rateLimit?: { readonly max: number; readonly durationMs: number };
}

export interface ScaleLimits {
  readonly queues: Readonly<Record<string, QueueLimits>>;
  readonly maxTotalWorkers: number;
  /** Scale-down waits until the excess has lasted this long. */
  readonly stabilizationMs: number;
  /** The learned divisor applies once a queue has this many job-time samples. @defaultValue 20 */
  readonly minJobSamples?: number;
  /** Look for the portal's knee (absent: off, the plain rule). */
  readonly knee?: KneeOptions;
}

/** What held a queue's target where it is. */
export type PlanBound = 'rule' | 'total' | 'capacity' | 'overload' | 'stabilizing' | 'knee' | 'rateLimit';

/** What the decision remembers between calls. */
export interface ScaleMemory {
  /** Since when each queue has had too many workers. */
  readonly excessSince: Readonly<Record<string, number>>;
  /** The learned divisor's backlog cohorts and their deadlines, per queue. */
  readonly drains?: Readonly<Record<string, DrainState>>;
  /** The knee search, per queue. */
  readonly knees?: Readonly<Record<string, KneeState>>;
}

export const EMPTY_MEMORY: ScaleMemory = { excessSince: {} };

export type { ScaleAction };

export interface QueuePlan {
  readonly queue: string;
  readonly pending: number;
  readonly current: number;
  /** The seed's rule (or the learned divisor's plan), clamped to the queue's min and max. */
  readonly wanted: number;
  /** After the portal's limits (rateLimit, knee) and the total cap shared fairly. */
  readonly desired: number;
  /** What to apply now: `desired` within capacity, or `current` while a scale-down is stabilizing. */
  readonly target: number;
  readonly action: ScaleAction;
  /** Which bound held and the numbers behind it (worded by logging/scaling-lines.ts). */
  readonly reason: PlanReason;
  /** The divisor in effect: `jobsPerWorker`, or pending ÷ the learned plan's workers. */
  readonly divisor: number;
  /** What held the target. */
  readonly bound: PlanBound;
}

export interface ScaleDecision {
  readonly plans: readonly QueuePlan[];
  readonly memory: ScaleMemory;
}

/** Job seconds S when the learned divisor applies to this queue, else undefined (the fixed one). */
export function learnedJobSeconds(
  limits: QueueLimits,
  jobTime: QueueObservation['jobTime'],
  minSamples = 20,
): number | undefined {
  if (!limits.targetDrainSeconds || !jobTime || jobTime.samples < minSamples || !(jobTime.seconds > 0))
    return undefined;
  return jobTime.seconds;
}

/** ceil(pending / jobsPerWorker), clamped to [minWorkers, maxWorkers]. */
export function workersForPending(pending: number, limits: QueueLimits): number {
  const byRule = pending > 0 ? Math.ceil(pending / limits.jobsPerWorker) : 0;
  return clamp(byRule, limits);
}

function clamp(workers: number, limits: QueueLimits): number {
  return Math.max(limits.minWorkers, Math.min(limits.maxWorkers, workers));
}

/**
 * Max-min fair split of `total` among `wants`: every queue gets up to an equal share, what a queue
 * does not need goes to those that want more, and the last indivisible units go in name order.
 */
export function shareFairly(wants: Readonly<Record<string, number>>, total: number): Record<string, number> {
  const names = Object.keys(wants).sort();
  const given: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  let remaining = Math.max(0, total);
  for (;;) {
    const hungry = names.filter((n) => (given[n] ?? 0) < (wants[n] ?? 0));
    if (hungry.length === 0 || remaining === 0) break;
    const each = Math.floor(remaining / hungry.length);
    if (each === 0) {
      for (const n of hungry.slice(0, remaining)) given[n] = (given[n] ?? 0) + 1;
      break;
    }
    for (const n of hungry) {
      const add = Math.min(each, (wants[n] ?? 0) - (given[n] ?? 0));
      given[n] = (given[n] ?? 0) + add;
      remaining -= add;
    }
  }
  return given;
}

/** The rule for one queue: the fixed divisor, or the learned plan against the backlog's deadlines. */
function ruleFor(
  o: QueueObservation,
  ql: QueueLimits,
  jobSeconds: number | undefined,
  drain: DrainState | undefined,
  now: number,
): RuleReason {
  if (jobSeconds !== undefined && drain) {
    const need = drainNeed(drain, jobSeconds, now);
    // No more units than jobs waiting: one more cannot finish them sooner.
    const workers = clamp(Math.min(o.pending, Math.ceil(need.workers - 1e-9)), ql);
    return {
      kind: 'learned',
      pending: need.jobs,
      jobSeconds,
      secondsLeft: need.secondsLeft,
      targetDrainSeconds: ql.targetDrainSeconds ?? 0,
      minWorkers: ql.minWorkers,
      maxWorkers: ql.maxWorkers,
      workers,
    };
  }
  return {
    kind: 'fixed',
    pending: o.pending,
    jobsPerWorker: ql.jobsPerWorker,
    minWorkers: ql.minWorkers,
    maxWorkers: ql.maxWorkers,
    workers: workersForPending(o.pending, ql),
  };
}

interface QueueDraft {
  readonly o: QueueObservation;
  readonly rule: RuleReason;
  /** After rateLimit and the knee. */
  readonly asked: number;
  readonly portal?: PlanReason;
}

/**
 * Decides the worker count of every queue. Scale-up is immediate; scale-down only once the excess
 * has lasted `stabilizationMs` (a clock that jumps backwards restarts the window), or at once when
 * another queue needs the room under the total cap, or capacity is lower.
 */
export function decideScale(
  observed: readonly QueueObservation[],
  limits: ScaleLimits,
  memory: ScaleMemory,
  now: number,
  capacity?: CapacityBound,
): ScaleDecision {
  const drains: Record<string, DrainState> = {};
  const knees: Record<string, KneeState> = {};
  const drafts = new Map<string, QueueDraft>();
  for (const o of observed) {
    const ql = limits.queues[o.queue];
    if (!ql) throw new Error(`no limits for queue '${o.queue}'`);
    if (ql.targetDrainSeconds)
      drains[o.queue] = trackBacklog(memory.drains?.[o.queue], o.pending, now, ql.targetDrainSeconds * 1000);
    const rule = ruleFor(o, ql, learnedJobSeconds(ql, o.jobTime, limits.minJobSamples), drains[o.queue], now);
    let asked = rule.workers;
    let portal: PlanReason | undefined;
    const jobSeconds = o.jobTime?.seconds;
    if (ql.rateLimit && jobSeconds !== undefined && jobSeconds > 0) {
      // Units that the rate keeps busy: max jobs per duration × S.
      const busy = Math.max(1, Math.ceil((ql.rateLimit.max * jobSeconds * 1000) / ql.rateLimit.durationMs - 1e-9));
      if (busy < asked) {
        asked = busy;
        const { max, durationMs } = ql.rateLimit;
        portal = { kind: 'rateLimit', rule, wanted: rule.workers, given: busy, max, durationMs, jobSeconds };
      }
    }
    if (limits.knee) {
      const k = observeKnee(
        memory.knees?.[o.queue],
        { current: o.current, pending: o.pending, finished: o.finished ?? [] },
        now,
        limits.knee,
      );
      knees[o.queue] = k.state;
      if (k.cap && k.cap.workers < asked) {
        asked = k.cap.workers;
        portal = {
          kind: 'knee',
          rule,
          wanted: rule.workers,
          given: asked,
          below: k.cap.below,
          above: k.cap.above,
          probing: k.cap.probing,
        };
      }
    }
    drafts.set(o.queue, { o, rule, asked, ...(portal ? { portal } : {}) });
  }
  const asked = Object.fromEntries([...drafts].map(([q, d]) => [q, d.asked]));
  const desired = shareFairly(asked, limits.maxTotalWorkers);
  const current = Object.fromEntries(observed.map((o) => [o.queue, o.current]));
  const fit = capacity ? fitCapacity(desired, current, capacity) : undefined;
  // How many of the units running now fit (below what runs only while the machine is overloaded):
  // when the rule's own decline asks as few as capacity gives, the cut must still come at once.
  const held = capacity
    ? fitCapacity(
        Object.fromEntries(observed.map((o) => [o.queue, Math.max(desired[o.queue] ?? 0, o.current)])),
        current,
        capacity,
      )
    : undefined;

  const excessSince: Record<string, number> = {};
  const staged = observed.map((o) => {
    const fair = fit?.given[o.queue] ?? desired[o.queue] ?? 0;
    const byCapacity = fair < (desired[o.queue] ?? 0);
    const limit = fit?.limits[o.queue];
    // Capacity and the portal's limits take their units away at once, without the window.
    const byPortal = drafts.get(o.queue)?.portal !== undefined;
    if (fair >= o.current || byCapacity || byPortal)
      return { o, fair, byCapacity, limit, target: fair, stabilizing: false };
    const fits = held?.given[o.queue] ?? o.current;
    if (fits < o.current) {
      // Over capacity now: down to what fits at once; the rule's own excess below that waits its window.
      return {
        o,
        fair,
        byCapacity: true,
        limit: held?.limits[o.queue],
        target: Math.max(fair, fits),
        stabilizing: false,
      };
    }
    const since = memory.excessSince[o.queue];
    const start = since === undefined || since > now ? now : since;
    if (now - start >= limits.stabilizationMs) return { o, fair, byCapacity, limit, target: fair, stabilizing: false };
    excessSince[o.queue] = start;
    return { o, fair, byCapacity, limit, target: o.current, stabilizing: true };
  });

  // A queue holding excess workers must not keep another queue below its fair share (the total
  // cap, or capacity that the fit gave assuming the excess gone).
  const total = staged.reduce((sum, d) => sum + d.target, 0);
  const starved = total > limits.maxTotalWorkers || staged.some((d) => d.byCapacity);
  const runningNone = observed.every((o) => o.current === 0);

  const plans = staged.map(({ o, fair, byCapacity, limit: fitLimit, target: stagedTarget, stabilizing }): QueuePlan => {
    const d = drafts.get(o.queue) as QueueDraft;
    const ql = limits.queues[o.queue] as QueueLimits;
    const want = d.rule.workers;
    let target = stagedTarget;
    let reason: PlanReason;
    let bound: PlanBound;
    if (stabilizing && starved) {
      target = fair;
      delete excessSince[o.queue];
      bound = 'total';
      reason = { kind: 'released', excess: o.current - fair };
    } else if (stabilizing) {
      const since = excessSince[o.queue] ?? now;
      bound = 'stabilizing';
      reason = {
        kind: 'stabilizing',
        excess: o.current - fair,
        elapsedSeconds: (now - since) / 1000,
        windowSeconds: limits.stabilizationMs / 1000,
      };
    } else if (byCapacity && fit) {
      bound = 'capacity';
      const limit = fitLimit ?? capacity?.limit ?? { signal: 'none' };
      reason = { kind: 'capacity', rule: d.rule, wanted: want, given: target, limit };
    } else if (fair < d.asked) {
      bound = 'total';
      reason = { kind: 'total', rule: d.rule, wanted: d.asked, maxTotalWorkers: limits.maxTotalWorkers, given: fair };
    } else if (d.portal) {
      bound = d.portal.kind === 'knee' ? 'knee' : 'rateLimit';
      reason = d.portal;
    } else {
      bound = 'rule';
      reason = { kind: 'rule', rule: d.rule };
    }
    // The start gate: an overloaded machine starts nothing (one unit per queue while none runs at all).
    if (capacity?.overloaded && target > o.current) {
      const gated = runningNone ? Math.min(target, 1) : o.current;
      if (gated < target) {
        target = gated;
        bound = 'overload';
        reason = {
          kind: 'overload',
          rule: d.rule,
          wanted: want,
          overload: capacity.overload,
          firstOnly: gated > o.current,
        };
      }
    }
    const action: ScaleAction = target > o.current ? 'up' : target < o.current ? 'down' : 'hold';
    const divisor =
      d.rule.kind === 'learned' && d.rule.workers > 0 ? Math.max(1, d.rule.pending / d.rule.workers) : ql.jobsPerWorker;
    return {
      queue: o.queue,
      pending: o.pending,
      current: o.current,
      wanted: want,
      desired: desired[o.queue] ?? 0,
      target,
      action,
      reason,
      divisor,
      bound,
    };
  });
  return {
    plans,
    memory: {
      excessSince,
      ...(Object.keys(drains).length > 0 ? { drains } : {}),
      ...(Object.keys(knees).length > 0 ? { knees } : {}),
    },
  };
}
