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
}

/** Per-queue limits (config `queues.<name>`). */
export interface QueueLimits {
  readonly jobsPerWorker: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
}

export interface ScaleLimits {
  readonly queues: Readonly<Record<string, QueueLimits>>;
  readonly maxTotalWorkers: number;
  /** Scale-down waits until the excess has lasted this long. */
  readonly stabilizationMs: number;
}

/** What the decision remembers between calls: since when each queue has had too many workers. */
export interface ScaleMemory {
  readonly excessSince: Readonly<Record<string, number>>;
}

export const EMPTY_MEMORY: ScaleMemory = { excessSince: {} };

export type ScaleAction = 'up' | 'down' | 'hold';

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
}

export interface ScaleDecision {
  readonly plans: readonly QueuePlan[];
  readonly memory: ScaleMemory;
}

/** ceil(pending / jobsPerWorker), clamped to [minWorkers, maxWorkers]. */
export function workersForPending(pending: number, limits: QueueLimits): number {
  const byRule = pending <= 0 ? 0 : Math.ceil(pending / limits.jobsPerWorker);
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
): ScaleDecision {
  const wanted: Record<string, number> = {};
  for (const o of observed) {
    const ql = limits.queues[o.queue];
    if (!ql) throw new Error(`no limits for queue '${o.queue}'`);
    wanted[o.queue] = workersForPending(o.pending, ql);
  }
  const desired = shareFairly(wanted, limits.maxTotalWorkers);
  const excessSince: Record<string, number> = {};
  const drafts = observed.map((o) => {
    const want = wanted[o.queue] ?? 0;
    const fair = desired[o.queue] ?? 0;
    if (fair >= o.current) return { o, want, fair, target: fair, stabilizing: false };
    const since = memory.excessSince[o.queue];
    const start = since === undefined || since > now ? now : since;
    if (now - start >= limits.stabilizationMs) return { o, want, fair, target: fair, stabilizing: false };
    excessSince[o.queue] = start;
    return { o, want, fair, target: o.current, stabilizing: true };
  });

  // A queue holding excess workers must not keep another queue below its fair share.
  const total = drafts.reduce((sum, d) => sum + d.target, 0);
  const starved = total > limits.maxTotalWorkers;

  const plans = drafts.map(({ o, want, fair, target: draftTarget, stabilizing }): QueuePlan => {
    let target = draftTarget;
    let reason: string;
    if (stabilizing && starved) {
      target = fair;
      delete excessSince[o.queue];
      reason = 'excesso liberado antes da janela: outra fila precisa da capacidade';
    } else if (stabilizing) {
      const since = excessSince[o.queue] ?? now;
      reason = `excesso de ${o.current - fair} aguardando a janela de estabilização (${Math.round((now - since) / 1000)}s de ${Math.round(limits.stabilizationMs / 1000)}s)`;
    } else if (fair < want) {
      reason = `a regra pede ${want}; o teto total ${limits.maxTotalWorkers}, repartido entre as filas, dá ${fair}`;
    } else {
      reason = `ceil(${o.pending}/${limits.queues[o.queue]?.jobsPerWorker ?? '?'}) limitado a [mín, máx] = ${want}`;
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
    };
  });
  return { plans, memory: { excessSince } };
}
