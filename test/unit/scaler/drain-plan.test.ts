import { describe, expect, it } from 'vitest';
import {
  decideScale,
  EMPTY_MEMORY,
  type QueueLimits,
  type ScaleLimits,
  type ScaleMemory,
} from '../../../src/scaler/decide.js';
import { drainNeed, trackBacklog } from '../../../src/scaler/drain-plan.js';

const auto: QueueLimits = { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10, targetDrainSeconds: 60 };
const limits: ScaleLimits = { queues: { q: auto }, maxTotalWorkers: 20, stabilizationMs: 10_000, minJobSamples: 20 };
const S = 1.3;

describe('the learned divisor plans against the deadline fixed when the backlog arrived', () => {
  it('322 jobs × 1,3 s ÷ 60 s → 7, and says so', () => {
    const { plans } = decideScale(
      [{ queue: 'q', pending: 322, current: 0, jobTime: { seconds: S, samples: 50 } }],
      limits,
      EMPTY_MEMORY,
      0,
    );
    expect(plans[0]).toMatchObject({ target: 7, bound: 'rule' });
    expect(plans[0]?.reason).toEqual({
      kind: 'rule',
      rule: {
        kind: 'learned',
        pending: 322,
        jobSeconds: S,
        secondsLeft: 60,
        targetDrainSeconds: 60,
        minWorkers: 0,
        maxWorkers: 10,
        workers: 7,
      },
    });
  });

  it('drains a burst within T: units are not shed while the rest could not finish in time', () => {
    // Each second the running units finish units/S jobs; the scaler decides every second.
    let memory: ScaleMemory = EMPTY_MEMORY;
    let pending = 322;
    let current = 0;
    let done = 0;
    const targets: number[] = [];
    let t = 0;
    for (; t < 120_000 && pending + current > 0; t += 1000) {
      const { plans, memory: next } = decideScale(
        [{ queue: 'q', pending, current, jobTime: { seconds: S, samples: 50 } }],
        limits,
        memory,
        t,
      );
      memory = next;
      current = plans[0]?.target ?? 0;
      targets.push(current);
      done += current / S;
      const finished = Math.min(pending, Math.floor(done));
      done -= finished;
      pending -= finished;
      if (pending === 0) current = 0;
    }
    expect(t).toBeLessThanOrEqual(61_000);
    // While most of the backlog remained, the plan never fell below what the deadline needs.
    expect(Math.min(...targets.slice(0, 40))).toBeGreaterThanOrEqual(7);
  });

  it('the old formula (pending × S ÷ T at every step) would not: it recomputes the same target as the backlog shrinks', () => {
    // What ceil(pending × S / T) gives halfway: 161 × 1.3 / 60 = 3.5 → 4 units for 161 jobs = 52 s more.
    const halfway = trackBacklog(trackBacklog(undefined, 322, 0, 60_000), 161, 30_000, 60_000);
    expect(Math.ceil(drainNeed(halfway, S, 30_000).workers)).toBe(7);
    expect(Math.ceil((161 * S) / 60)).toBe(4);
  });

  it('items that arrive later get their own deadline; a past deadline asks for every unit the caps allow', () => {
    let state = trackBacklog(undefined, 100, 0, 60_000);
    state = trackBacklog(state, 60, 50_000, 60_000); // 40 ran; nothing new
    state = trackBacklog(state, 260, 55_000, 60_000); // 200 new, due at 115 s
    expect(state.cohorts).toEqual([
      { count: 60, deadlineAt: 60_000 },
      { count: 200, deadlineAt: 115_000 },
    ]);
    // The old cohort: 60 jobs × 1,3 s in 5 s → 16 workers (more than the caps): it sets the need.
    expect(drainNeed(state, S, 55_000)).toEqual({ workers: (60 * S) / 5, jobs: 60, secondsLeft: 5 });
    const late = drainNeed(state, S, 70_000);
    expect(late).toMatchObject({ jobs: 60, secondsLeft: 0, workers: 60 });
    const { plans } = decideScale(
      [{ queue: 'q', pending: 260, current: 4, jobTime: { seconds: S, samples: 50 } }],
      limits,
      { excessSince: {}, drains: { q: state } },
      70_000,
    );
    expect(plans[0]).toMatchObject({ target: 10, reason: { rule: { kind: 'learned', secondsLeft: 0 } } });
  });

  it('never more units than jobs waiting, and the fixed divisor until minJobSamples job times exist', () => {
    const few = decideScale(
      [{ queue: 'q', pending: 3, current: 0, jobTime: { seconds: 100, samples: 50 } }],
      limits,
      EMPTY_MEMORY,
      0,
    );
    expect(few.plans[0]?.target).toBe(3); // 3 jobs of 100 s cannot finish in 60 s: one unit each, no more
    const two = decideScale(
      [{ queue: 'q', pending: 3, current: 0, jobTime: { seconds: 30, samples: 50 } }],
      limits,
      EMPTY_MEMORY,
      0,
    );
    expect(two.plans[0]?.target).toBe(2); // 3 × 30 s ÷ 60 s = 1,5
    const early = decideScale(
      [{ queue: 'q', pending: 322, current: 0, jobTime: { seconds: 10, samples: 19 } }],
      limits,
      EMPTY_MEMORY,
      0,
    );
    expect(early.plans[0]).toMatchObject({ target: 7, divisor: 50, reason: { rule: { kind: 'fixed' } } });
  });
});
