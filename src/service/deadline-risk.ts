/**
 * Which waiting items will miss their deadline (`prazo`) at the pace the queue drains now. Pure.
 *
 * Estimate: the item at position p of the processing order (0 = next to start) starts when the
 * p + 1 - idleWorkers jobs ahead of it have finished, that is after (p + 1 - idle) / rate seconds,
 * where `rate` is the queue's drain rate: the larger of the completions observed over the last
 * minutes and the workers the queue has (or the scaling rule gives it) divided by the mean job
 * duration observed over the same minutes. An item whose estimated start is after its deadline is
 * at risk; so is a postponed one that comes due after its deadline. Without observations (no job
 * finished lately) the rate is unknown and only deadlines already past count: no evidence, no
 * alarm. A rate of 0 (no worker can run) puts every waiting deadline at risk.
 */

/** One waiting job, by its place in the processing order. */
export interface WaitingDeadline {
  /** 0 = the next job a free worker takes. */
  readonly position: number;
  readonly deadlineMs: number;
}

export interface DeadlineRiskInput {
  readonly nowMs: number;
  readonly waiting: readonly WaitingDeadline[];
  /** Postponed jobs with a deadline: when they come due. */
  readonly delayed: readonly { readonly dueAtMs: number; readonly deadlineMs: number }[];
  /** Jobs finished per second (see the file comment); null when unknown. */
  readonly ratePerSecond: number | null;
  /** Workers free right now: that many jobs start at once. */
  readonly idleWorkers: number;
}

export interface DeadlineRisk {
  /** Items (waiting and postponed) with a deadline. */
  readonly withDeadline: number;
  readonly atRisk: number;
  /** The earliest deadline among the items at risk (ms since epoch); null when none. */
  readonly earliestAtRiskMs: number | null;
}

/** The estimated start of the job at `position` (ms since epoch; Infinity when nothing drains). */
export function estimatedStartMs(
  position: number,
  nowMs: number,
  ratePerSecond: number | null,
  idleWorkers: number,
): number {
  const ahead = Math.max(0, position + 1 - Math.max(0, idleWorkers));
  if (ahead === 0 || ratePerSecond === null) return nowMs;
  if (!(ratePerSecond > 0)) return Infinity;
  return nowMs + (ahead / ratePerSecond) * 1000;
}

export function deadlineRisk(input: DeadlineRiskInput): DeadlineRisk {
  let atRisk = 0;
  let earliest: number | null = null;
  const flag = (deadlineMs: number): void => {
    atRisk++;
    earliest = earliest === null ? deadlineMs : Math.min(earliest, deadlineMs);
  };
  for (const job of input.waiting) {
    if (estimatedStartMs(job.position, input.nowMs, input.ratePerSecond, input.idleWorkers) > job.deadlineMs) {
      flag(job.deadlineMs);
    }
  }
  for (const job of input.delayed) if (job.dueAtMs > job.deadlineMs) flag(job.deadlineMs);
  return { withDeadline: input.waiting.length + input.delayed.length, atRisk, earliestAtRiskMs: earliest };
}
