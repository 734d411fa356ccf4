/**
 * The learned divisor's promise (`jobsPerWorker: "auto"`, `targetDrainSeconds: T`): a backlog that
 * arrives at once is drained within T. Pure. The backlog is kept as cohorts, each with the
 * deadline fixed when it arrived (arrival + T); jobs leave it oldest first. The workers needed
 * now are those that finish the most demanding prefix of the backlog by its deadline:
 * max over cohorts k of (jobs up to k) × S ÷ (time left to k's deadline). Recomputing
 * `pending × S ÷ T` after every job instead moves the deadline with the backlog, which then
 * shrinks geometrically and never drains "within T".
 */

/** Jobs that arrived together, and when they should be done. */
export interface DrainCohort {
  readonly count: number;
  readonly deadlineAt: number;
}

/** A queue's backlog as the plan sees it. */
export interface DrainState {
  /** Oldest first; their counts sum to the pending count last seen. */
  readonly cohorts: readonly DrainCohort[];
}

/** Cohorts kept per queue; beyond it the two newest merge (the earlier deadline kept: conservative). */
const MAX_COHORTS = 32;

/**
 * The backlog after a new observation: growth since the last one is a new cohort due at
 * `now + targetMs`; a shrink is taken from the oldest cohorts (FIFO, as the jobs run).
 */
export function trackBacklog(
  state: DrainState | undefined,
  pending: number,
  now: number,
  targetMs: number,
): DrainState {
  const cohorts = [...(state?.cohorts ?? [])];
  const known = cohorts.reduce((sum, c) => sum + c.count, 0);
  if (pending > known) cohorts.push({ count: pending - known, deadlineAt: now + targetMs });
  let excess = Math.max(0, known - pending);
  while (excess > 0 && cohorts.length > 0) {
    const first = cohorts[0] as DrainCohort;
    if (first.count <= excess) {
      excess -= first.count;
      cohorts.shift();
    } else {
      cohorts[0] = { count: first.count - excess, deadlineAt: first.deadlineAt };
      excess = 0;
    }
  }
  while (cohorts.length > MAX_COHORTS) {
    const b = cohorts.pop() as DrainCohort;
    const a = cohorts.pop() as DrainCohort;
    cohorts.push({ count: a.count + b.count, deadlineAt: Math.min(a.deadlineAt, b.deadlineAt) });
  }
  return { cohorts };
}

/** What the plan asks: the workers needed (not rounded, not clamped) and the prefix that needs them. */
export interface DrainNeed {
  readonly workers: number;
  /** Jobs up to the most demanding cohort. */
  readonly jobs: number;
  /** Seconds left to that cohort's deadline (0 when it has passed). */
  readonly secondsLeft: number;
}

/**
 * Workers needed so that every cohort finishes by its deadline at `jobSeconds` per job. A cohort
 * whose deadline has passed (or is less than one job away) asks for as many workers as it has
 * jobs: the caps decide the rest.
 */
export function drainNeed(state: DrainState, jobSeconds: number, now: number): DrainNeed {
  let best: DrainNeed = { workers: 0, jobs: 0, secondsLeft: 0 };
  let jobs = 0;
  for (const c of state.cohorts) {
    jobs += c.count;
    const left = Math.max(0, (c.deadlineAt - now) / 1000);
    const workers = left < jobSeconds ? jobs : (jobs * jobSeconds) / left;
    if (workers > best.workers) best = { workers, jobs, secondsLeft: left };
  }
  return best;
}
