import type { ScaleAction } from '../shared/decision-record.js';
/**
 * The scaling decision, pure: what the seed's monitor computed every 60 s, plus a fair split of the
 * total cap and a stabilization window for scale-down. No I/O, no clock of its own.
 */

/** What the scaler saw of one queue. */
export interface QueueObservation {
  readonly queue: string;
  /** Items still in the source list + BullMQ waiting + prioritized. */
  readonly pending: number;
  /** Live worker units (starting, ready or busy; not draining). */
  readonly current: number;
  /** Observed job time of the queue (rolling median of successful attempts) and how many samples it has. */
  readonly jobTime?: { readonly seconds: number; readonly samples: number };
}

/** Per-queue limits (config `queues.<name>`). */
export interface QueueLimits {
  readonly jobsPerWorker: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Set when the divisor is learned (`jobsPerWorker: "auto"`): the time the backlog should drain in. */
  readonly targetDrainSeconds?: number;
}

export interface ScaleLimits {
  readonly queues: Readonly<Record<string, QueueLimits>>;
  readonly maxTotalWorkers: number;
  /** Scale-down waits until the excess has lasted this long. */
  readonly stabilizationMs: number;
  /** The learned divisor applies once a queue has this many job-time samples. @defaultValue 20 */
  readonly minJobSamples?: number;
}

/** This instance's capacity as the decision sees it (src/capacity computes it). */
export interface CapacityBound {
  /** Units this instance can run now. */
  readonly units: number;
  /** Why that many, e.g. `CPU 97% (2 núcleos)`. */
  readonly reason: string;
  /** The start gate is closed: no unit starts (but one per queue while the instance runs none). */
  readonly overloaded: boolean;
  readonly overloadReason?: string;
}

/** What held a queue's target where it is. */
export type PlanBound = 'rule' | 'total' | 'capacity' | 'overload' | 'stabilizing';

/** What the decision remembers between calls: since when each queue has had too many workers. */
export interface ScaleMemory {
  readonly excessSince: Readonly<Record<string, number>>;
}

export const EMPTY_MEMORY: ScaleMemory = { excessSince: {} };

export type { ScaleAction };

export interface QueuePlan {
  readonly queue: string;
  readonly pending: number;
  readonly current: number;
  /** The seed's rule, clamped to the queue's min and max. */
  readonly wanted: number;
  /** After the total cap was shared fairly. */
  readonly desired: number;
  /** What to apply now: `desired`, or `current` while a scale-down is stabilizing. */
  readonly target: number;
  readonly action: ScaleAction;
  readonly reason: string;
  /** The divisor in effect: `jobsPerWorker`, or T/S once the learned one applies. */
  readonly divisor: number;
  /** What held the target: the rule, the total cap, capacity, the overload gate, the stabilization window. */
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

/**
 * ceil(pending / jobsPerWorker), clamped to [minWorkers, maxWorkers]; with a learned job time S
 * and a drain target T, ceil(pending × S / T) (the divisor is T/S).
 */
export function workersForPending(pending: number, limits: QueueLimits, jobSeconds?: number): number {
  let byRule = 0;
  if (pending > 0 && jobSeconds !== undefined && limits.targetDrainSeconds)
    byRule = Math.ceil((pending * jobSeconds) / limits.targetDrainSeconds - 1e-9);
  else if (pending > 0) byRule = Math.ceil(pending / limits.jobsPerWorker);
  return Math.max(limits.minWorkers, Math.min(limits.maxWorkers, byRule));
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

/**
 * Decides the worker count of every queue. Scale-up is immediate; scale-down only once the excess
 * has lasted `stabilizationMs` (a clock that jumps backwards restarts the window), or at once when
 * another queue needs the capacity under the total cap.
 */
export function decideScale(
  observed: readonly QueueObservation[],
  limits: ScaleLimits,
  memory: ScaleMemory,
  now: number,
  capacity?: CapacityBound,
): ScaleDecision {
  const wanted: Record<string, number> = {};
  const learned: Record<string, number | undefined> = {};
  for (const o of observed) {
    const ql = limits.queues[o.queue];
    if (!ql) throw new Error(`no limits for queue '${o.queue}'`);
    learned[o.queue] = learnedJobSeconds(ql, o.jobTime, limits.minJobSamples);
    wanted[o.queue] = workersForPending(o.pending, ql, learned[o.queue]);
  }
  const desired = shareFairly(wanted, limits.maxTotalWorkers);
  // Capacity is shared like the total cap; what it takes away goes at once, without the window.
  // It never starves a queue: each queue with work keeps one unit even above capacity.
  const queuesWithWork = Object.values(desired).filter((n) => n > 0).length;
  const room = capacity
    ? Math.min(limits.maxTotalWorkers, Math.max(queuesWithWork, capacity.units))
    : limits.maxTotalWorkers;
  const capped = capacity ? shareFairly(desired, room) : desired;
  const excessSince: Record<string, number> = {};
  const drafts = observed.map((o) => {
    const want = wanted[o.queue] ?? 0;
    const fair = capped[o.queue] ?? 0;
    const byCapacity = fair < (desired[o.queue] ?? 0);
    if (fair >= o.current || byCapacity) return { o, want, fair, byCapacity, target: fair, stabilizing: false };
    const since = memory.excessSince[o.queue];
    const start = since === undefined || since > now ? now : since;
    if (now - start >= limits.stabilizationMs) return { o, want, fair, byCapacity, target: fair, stabilizing: false };
    excessSince[o.queue] = start;
    return { o, want, fair, byCapacity, target: o.current, stabilizing: true };
  });

  // A queue holding excess workers must not keep another queue below its fair share.
  const total = drafts.reduce((sum, d) => sum + d.target, 0);
  const starved = total > room;
  const runningNone = observed.every((o) => o.current === 0);

  const plans = drafts.map(({ o, want, fair, byCapacity, target: draftTarget, stabilizing }): QueuePlan => {
    const ql = limits.queues[o.queue];
    const jobSeconds = learned[o.queue];
    const divisor =
      jobSeconds !== undefined && ql?.targetDrainSeconds
        ? ql.targetDrainSeconds / jobSeconds
        : (ql?.jobsPerWorker ?? 0);
    let target = draftTarget;
    let reason: string;
    let bound: PlanBound = 'rule';
    if (stabilizing && starved) {
      target = fair;
      delete excessSince[o.queue];
      bound = 'total';
      reason = 'excesso liberado antes da janela: outra fila precisa da capacidade';
    } else if (stabilizing) {
      const since = excessSince[o.queue] ?? now;
      bound = 'stabilizing';
      reason = `excesso de ${o.current - fair} aguardando a janela de estabilização (${Math.round((now - since) / 1000)}s de ${Math.round(limits.stabilizationMs / 1000)}s)`;
    } else if (byCapacity && capacity) {
      bound = 'capacity';
      reason = `a regra pede ${want}; limitado pela capacidade: ${capacity.reason} → ${fair}`;
    } else if (fair < want) {
      bound = 'total';
      reason = `a regra pede ${want}; o teto total ${limits.maxTotalWorkers}, repartido entre as filas, dá ${fair}`;
    } else if (jobSeconds !== undefined && ql?.targetDrainSeconds) {
      reason = `ceil(${o.pending}×${formatSeconds(jobSeconds)}s/${ql.targetDrainSeconds}s), divisor aprendido ${Math.round(divisor)}, limitado a [mín, máx] = ${want}`;
    } else {
      reason = `ceil(${o.pending}/${ql?.jobsPerWorker ?? '?'}) limitado a [mín, máx] = ${want}`;
    }
    // The start gate: an overloaded machine starts nothing (one unit per queue while none runs at all).
    if (capacity?.overloaded && target > o.current) {
      const gated = runningNone ? Math.min(target, 1) : o.current;
      if (gated < target) {
        target = gated;
        bound = 'overload';
        reason = `a regra pede ${want}; máquina sobrecarregada (${capacity.overloadReason ?? capacity.reason}): nenhum worker novo${gated > o.current ? ' além do primeiro' : ''}`;
      }
    }
    const action: ScaleAction = target > o.current ? 'up' : target < o.current ? 'down' : 'hold';
    return {
      queue: o.queue,
      pending: o.pending,
      current: o.current,
      wanted: want,
      desired: fair,
      target,
      action,
      reason,
      divisor,
      bound,
    };
  });
  return { plans, memory: { excessSince } };
}

function formatSeconds(seconds: number): string {
  return (Math.round(seconds * 100) / 100).toLocaleString('pt-BR');
}
