import { describe, expect, it } from 'vitest';
import {
  decideScale,
  EMPTY_MEMORY,
  type QueuePlan,
  type ScaleLimits,
  type ScaleMemory,
} from '../../../src/scaler/decide.js';
import { DEFAULT_KNEE, observeKnee, saturated, type FinishedJob, type KneeOptions } from '../../../src/scaler/knee.js';

/**
 * A simulated portal that serves at most `slots` requests at once, each taking `serviceMs`; a job
 * spends `browserMs` in its browser, then `requests` requests (1 unless set), one after another. Units work while jobs wait. Time moves in
 * 50 ms steps; the decision runs every second with the pool's units following its target at once.
 */
function simulate(opts: {
  jobs: number;
  slots: number;
  serviceMs: number;
  browserMs: number;
  requests?: number;
  /** Requests a new unit makes before its first job (a login), queued like any other. */
  loginRequests?: number;
  limits: ScaleLimits;
  maxSeconds?: number;
}) {
  const step = 50;
  let backlog = opts.jobs;
  let memory: ScaleMemory = EMPTY_MEMORY;
  type Unit = {
    phase: 'idle' | 'browser' | 'queued' | 'portal';
    until: number;
    startedAt: number;
    retiring: boolean;
    left: number;
    login: boolean;
  };
  const units: Unit[] = [];
  const finished: FinishedJob[] = [];
  const plans: { at: number; plan: QueuePlan }[] = [];
  const queue: Unit[] = [];
  let now = 0;
  const live = (): Unit[] => units.filter((u) => !u.retiring);
  for (; now < (opts.maxSeconds ?? 600) * 1000; now += step) {
    if (now % 1000 === 0) {
      const decision = decideScale(
        [{ queue: 'q', pending: backlog, current: live().length, finished: finished.slice(-200) }],
        opts.limits,
        memory,
        now,
      );
      memory = decision.memory;
      const plan = decision.plans[0] as QueuePlan;
      plans.push({ at: now, plan });
      const target = plan.target;
      while (live().length < target) {
        const login = opts.loginRequests ?? 0;
        const u: Unit = { phase: 'idle', until: now, startedAt: now, retiring: false, left: login, login: login > 0 };
        units.push(u);
        if (u.login) {
          u.phase = 'queued';
          queue.push(u);
        }
      }
      // Retire idle units first, then busy ones once their job is done.
      for (const u of live()) if (live().length > target && u.phase === 'idle') u.retiring = true;
      for (const u of [...live()].reverse()) if (live().length > target) u.retiring = true;
    }
    const serving = units.filter((u) => u.phase === 'portal').length;
    let free = opts.slots - serving;
    for (const u of units) {
      if (u.phase === 'portal' && now >= u.until) {
        free += 1;
        u.left -= 1;
        if (u.left > 0) {
          u.phase = 'queued';
          queue.push(u);
        } else {
          if (!u.login) finished.push({ at: now, ms: now - u.startedAt });
          u.login = false;
          u.phase = 'idle';
        }
      }
      if (u.phase === 'browser' && now >= u.until) {
        u.phase = 'queued';
        queue.push(u);
      }
    }
    while (free > 0 && queue.length > 0) {
      const u = queue.shift() as Unit;
      u.phase = 'portal';
      u.until = now + opts.serviceMs;
      free -= 1;
    }
    for (let i = units.length - 1; i >= 0; i--) {
      const u = units[i] as Unit;
      if (u.phase !== 'idle') continue;
      if (u.retiring) units.splice(i, 1);
      else if (backlog > 0) {
        backlog -= 1;
        u.phase = 'browser';
        u.left = opts.requests ?? 1;
        u.startedAt = now;
        u.until = now + opts.browserMs;
      }
    }
    if (backlog === 0 && units.every((u) => u.phase === 'idle')) break;
  }
  return { seconds: now / 1000, plans, finished };
}

const limits = (maxWorkers = 10): ScaleLimits => ({
  queues: { q: { jobsPerWorker: 50, minWorkers: 0, maxWorkers } },
  maxTotalWorkers: 20,
  stabilizationMs: 5_000,
  knee: DEFAULT_KNEE,
});

describe('saturated (two measured levels)', () => {
  it('more units with no more completions and longer jobs in proportion: saturated', () => {
    expect(
      saturated({ workers: 6, perMinute: 41, jobSeconds: 8.8 }, { workers: 8, perMinute: 40, jobSeconds: 12 }),
    ).toBe(true);
  });

  it('more units with proportionally more completions: not saturated', () => {
    expect(
      saturated({ workers: 4, perMinute: 40, jobSeconds: 6 }, { workers: 8, perMinute: 78, jobSeconds: 6.2 }),
    ).toBe(false);
  });

  it('flat completions but flat job time (the backlog ran dry, not the portal): not saturated', () => {
    expect(saturated({ workers: 4, perMinute: 40, jobSeconds: 6 }, { workers: 8, perMinute: 41, jobSeconds: 6 })).toBe(
      false,
    );
  });
});

describe('the knee against a simulated portal', () => {
  it('a portal serving 4 at once: the pool stops adding, holds at the knee and says why, without losing throughput', () => {
    // 1,000 ms per request, 400 ms of browser work: 4 slots serve 240 jobs/min, reached at ~5.6 units.
    const run = simulate({ jobs: 3000, slots: 4, serviceMs: 1000, browserMs: 400, limits: limits(), maxSeconds: 900 });
    const knee = run.plans.find((p) => p.plan.bound === 'knee');
    expect(knee).toBeDefined();
    expect(knee?.plan.reason).toMatchObject({ kind: 'knee', wanted: 10 });
    // Settled: most of the run at 5 or 6 units (with probes one above now and then), never back to 10.
    const later = run.plans.filter((p) => p.at > (knee?.at ?? 0) + 60_000 && p.plan.pending > 0);
    const atKnee = later.filter((p) => p.plan.target >= 5 && p.plan.target <= 6).length;
    expect(atKnee / later.length).toBeGreaterThan(0.7);
    expect(later.reduce((sum, p) => sum + p.plan.target, 0) / later.length).toBeLessThan(6.5);
    expect(Math.max(...later.map((p) => p.plan.target))).toBeLessThanOrEqual(7);
    // No slower than the plain rule (10 units hammering the portal) by more than 10%.
    const plain = simulate({
      jobs: 3000,
      slots: 4,
      serviceMs: 1000,
      browserMs: 400,
      limits: { ...limits(), knee: undefined },
      maxSeconds: 900,
    });
    expect(run.seconds).toBeLessThanOrEqual(plain.seconds * 1.1);
    console.log(`knee: ${run.seconds} s, plain rule: ${plain.seconds} s`);
    const probing = later.some((p) => p.plan.reason.kind === 'knee' && p.plan.reason.probing);
    expect(probing).toBe(true);
  });

  it('a burst the rule sizes at 8 against a portal that serves 6 at once: held at 6–7 while the backlog lasts', () => {
    // 8 s per request, 0.5 s of browser work: 6 slots serve 42 jobs/min, reached at ~6.4 units.
    const run = simulate({ jobs: 400, slots: 6, serviceMs: 8000, browserMs: 500, limits: limits(8), maxSeconds: 900 });
    const knee = run.plans.find((p) => p.plan.bound === 'knee');
    expect(knee?.plan.reason).toMatchObject({ kind: 'knee', given: expect.any(Number) as number });
    const given = knee?.plan.reason.kind === 'knee' ? knee.plan.reason.given : 0;
    expect(given).toBeGreaterThanOrEqual(6);
    expect(given).toBeLessThanOrEqual(7);
  });

  it('flows of 4 requests after a login against a portal serving 4 at once (every job queues): one step down finds the knee, held at 4–5', () => {
    // 4 × 250 ms requests, 200 ms of browser work: 4 slots serve 240 jobs/min, reached at ~4.8 units.
    // The logins queue too, so even a burst's first jobs wait: no job shows the portal's own time.
    const run = simulate({
      jobs: 1200,
      slots: 4,
      serviceMs: 250,
      browserMs: 200,
      requests: 4,
      loginRequests: 2,
      limits: limits(7),
      maxSeconds: 900,
    });
    const knee = run.plans.find((p) => p.plan.bound === 'knee');
    expect(knee?.plan.reason).toMatchObject({ kind: 'knee', wanted: 7 });
    // While the rule still asks 7: held at the knee (5 serve the portal's 4 slots), probing 6 now and then.
    const later = run.plans.filter((p) => p.at > (knee?.at ?? 0) + 20_000 && p.plan.wanted === 7);
    expect(later.length).toBeGreaterThan(60);
    const targets = later.map((p) => p.plan.target).sort((a, b) => a - b);
    expect(targets[Math.floor(targets.length / 2)]).toBeGreaterThanOrEqual(4);
    expect(targets[Math.floor(targets.length / 2)]).toBeLessThanOrEqual(5);
    // A probe that gains (measurement noise) lets the rule run for a moment until the level is measured again.
    expect(targets.filter((n) => n >= 4 && n <= 6).length / targets.length).toBeGreaterThan(0.9);
    const plain = simulate({
      jobs: 1200,
      slots: 4,
      serviceMs: 250,
      browserMs: 200,
      requests: 4,
      loginRequests: 2,
      limits: { ...limits(7), knee: undefined },
      maxSeconds: 900,
    });
    expect(run.seconds).toBeLessThanOrEqual(plain.seconds * 1.1);
    console.log(`every job queues: knee ${run.seconds} s, plain rule ${plain.seconds} s`);
  });

  it('a portal with room (no limit): no knee; one step down measures a lower level, then the rule runs', () => {
    const run = simulate({ jobs: 3000, slots: 1000, serviceMs: 1000, browserMs: 400, limits: limits() });
    const plain = simulate({
      jobs: 3000,
      slots: 1000,
      serviceMs: 1000,
      browserMs: 400,
      limits: { ...limits(), knee: undefined },
    });
    // The probe: below the rule for a few seconds, once (levels are kept for levelTtlMs), never held.
    const probed = run.plans.filter((p) => p.plan.pending > 500 && p.plan.target < 10);
    expect(probed.every((p) => p.plan.reason.kind === 'knee' && p.plan.reason.probing)).toBe(true);
    expect(probed.length).toBeLessThanOrEqual(20);
    const last = run.plans.filter((p) => p.plan.pending > 500).slice(-20);
    expect(last.every((p) => p.plan.target === 10)).toBe(true);
    expect(run.seconds).toBeLessThanOrEqual(plain.seconds * 1.05);
    console.log(
      `portal with room: knee ${run.seconds} s, plain rule ${plain.seconds} s, ${probed.length} probe decisions`,
    );
  });

  it('a backlog shorter than a minute at the current rate: no step down (the probe would cost more than it saves)', () => {
    // 10 units of 1.4 s jobs finish ~430 jobs/min: 400 jobs are gone within the minute.
    const run = simulate({ jobs: 400, slots: 1000, serviceMs: 1000, browserMs: 400, limits: limits() });
    expect(run.plans.some((p) => p.plan.pending > 0 && p.plan.target < p.plan.wanted)).toBe(false);
    // Every job queuing at a portal of 4 slots, but only ~40 s of backlog at its rate: no probe either.
    const short = simulate({ jobs: 160, slots: 4, serviceMs: 250, browserMs: 200, requests: 4, limits: limits(7) });
    expect(short.plans.some((p) => p.plan.pending > 0 && p.plan.target < p.plan.wanted)).toBe(false);
  });

  it('jobs of fixed length (echo): no knee whatever the units', () => {
    const run = simulate({ jobs: 2000, slots: 1000, serviceMs: 300, browserMs: 0, limits: limits() });
    expect(run.plans.some((p) => p.plan.bound === 'knee')).toBe(false);
  });
});

describe('a level’s completions per minute (observeKnee)', () => {
  // The first three measure from each unit's first job at the level (where the clumps show); the
  // rounds a level waits before it counts are the fourth's.
  const ONE_ROUND = { ...DEFAULT_KNEE, settleRounds: 1 };

  /** Level 5 as the search measures it: 5 units with a backlog, decisions at `times`, seeing the jobs finished by then. */
  function levelFive(finished: readonly FinishedJob[], times: readonly number[], o: KneeOptions = ONE_ROUND) {
    let state = observeKnee(undefined, { current: 5, pending: 500, finished: [] }, 0, o).state;
    for (const t of times)
      state = observeKnee(state, { current: 5, pending: 500, finished: finished.filter((f) => f.at <= t) }, t, o).state;
    return state.levels[5];
  }

  it('with every unit busy, units ÷ mean job time: the count over a short window reads the portal’s clumps', () => {
    // 5 units at a portal of 4 slots, 1 s each: completions come in clumps of 4 every second and
    // each job takes 1.25 s (240/min). A decision just after a clump counted 27 jobs in 6.0 s
    // (270/min), one just before it 23 in 5.9 s (234/min): ±12% on one level, enough to call a
    // unit that gains 12% saturated (the k4 bench held 4 units where 5 are 12% faster).
    const finished: FinishedJob[] = [];
    for (let s = 1; s <= 12; s++) for (let k = 0; k < 4; k++) finished.push({ at: s * 1000 + k, ms: 1250 });
    const levelAt = (now: number): number | undefined => levelFive(finished, [3_000, now])?.perMinute;
    for (const now of [8_005, 8_990]) {
      expect(levelAt(now)).toBeGreaterThan(235);
      expect(levelAt(now)).toBeLessThan(245);
    }
  });

  it('jobs that started before the level settled (behind the requests of retired units) are not its job time', () => {
    // As above, 240/min at 5 units; the jobs ending at 3 s started at 0.5 s, while two units being
    // retired still had requests queued at the portal: they took 2.5 s. They ended inside the
    // level's window, but they measure the level before.
    const finished: FinishedJob[] = [];
    for (let s = 1; s <= 12; s++)
      for (let k = 0; k < 4; k++) finished.push({ at: s * 1000 + k, ms: s === 3 ? 2500 : 1250 });
    const level = levelFive(finished, [3_000, 8_005]);
    expect(level?.jobSeconds).toBeCloseTo(1.25, 2);
    expect(level?.perMinute).toBeGreaterThan(235);
    expect(level?.perMinute).toBeLessThan(245);
  });

  it('a level is measured from each unit’s second job at it: the portal’s queue left by retired units drains first', () => {
    // 7 → 5 units against a 4-slot portal (the k4 bench): the requests the two retired units left
    // queued there keep the next two rounds of jobs at ~2 s, then the 5 units settle at 1.25 s
    // (240/min). Measured from the first round on, the level read 214/min, 4 units 212: "saturated".
    const finished: FinishedJob[] = [];
    for (let u = 0; u < 5; u++) {
      finished.push({ at: 1000 + u * 100, ms: 2000 }); // started at the previous level
      let at = 3600 + u * 100; // the second job: started after the first round, still behind the queue
      finished.push({ at, ms: 2000 });
      while (at < 12_000) finished.push({ at: (at += 1250), ms: 1250 });
    }
    const level = levelFive(finished, [3_000, 8_000, 10_500], DEFAULT_KNEE);
    expect(level?.jobSeconds).toBeCloseTo(1.25, 2);
    expect(level?.perMinute).toBeCloseTo(240, 0);
  });

  it('units that sit idle between jobs (the count falls well below units ÷ job time): the count', () => {
    // 5 units, jobs of 1 s, but only 2 completions a second: the units wait for something else
    // (a rate limit): units ÷ job time (300/min) would be a throughput nobody sees.
    const finished: FinishedJob[] = [];
    for (let s = 1; s <= 12; s++) for (let k = 0; k < 2; k++) finished.push({ at: s * 1000 + k * 500, ms: 1000 });
    const level = levelFive(finished, [3_000, 10_000]);
    expect(level?.perMinute).toBeGreaterThan(110);
    expect(level?.perMinute).toBeLessThan(130);
  });
});
