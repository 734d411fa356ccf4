import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scaler } from '../../../src/scaler/scaler.js';
import type { QueueDepth } from '../../../src/scaler/queue-depth.js';
import { memoryLogger } from '../../helpers/memory-logger.js';

const T0 = 1_800_000_000_000;

function depth(nextDueAt: number | null): QueueDepth {
  return {
    queue: 'conferencia',
    listLength: 0,
    waiting: 0,
    prioritized: 0,
    active: 0,
    delayed: nextDueAt === null ? 0 : 1,
    failed: 0,
    completed: 0,
    dueDelayed: 0,
    nextDueAt,
    pending: 0,
  };
}

/** Moves the fake clock (and timers) to `t` ms after the start (T0). */
async function until(t: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(T0 + t - Date.now());
}

/**
 * A scaler on the fake clock with one idle queue, noting when (ms after T0) it evaluates;
 * `nextDueAt` is read at every sample (the next delayed job).
 */
function loopScaler(evaluatedAt: number[], nextDueAt: () => number | null = () => null): Scaler {
  return new Scaler({
    source: {
      sample: () => {
        evaluatedAt.push(Date.now() - T0);
        return Promise.resolve([depth(nextDueAt())]);
      },
    },
    pool: { counts: () => ({ live: 0 }), setTarget: () => undefined },
    limits: {
      queues: { conferencia: { jobsPerWorker: 50, minWorkers: 0, maxWorkers: 10 } },
      maxTotalWorkers: 20,
      stabilizationMs: 60_000,
    },
    logger: memoryLogger().logger,
    intervalMs: 60_000,
    debounceMs: 1_000,
    equilibriumLogLevel: 'debug',
    clock: () => Date.now(),
  });
}

describe('the scaler loop wakes for a tick, a nudge and the next due delayed job (injected clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('evaluates at start, when the delayed job comes due, at once after a nudge (later nudges debounced), and at every tick', async () => {
    const evaluatedAt: number[] = [];
    let nextDueAt: number | null = T0 + 5_000;
    const scaler = loopScaler(evaluatedAt, () => nextDueAt);
    scaler.start();
    await until(0);
    expect(evaluatedAt).toEqual([0]); // the first tick

    await until(4_990);
    expect(evaluatedAt).toEqual([0]); // nothing before the delayed job is due
    nextDueAt = null; // once it is due, no other delayed job waits
    await until(5_010);
    expect(evaluatedAt).toEqual([0, 5_005]); // due at 5,000 ms: evaluated just after (+5 ms)

    await until(5_100);
    scaler.nudge();
    scaler.nudge(); // a second nudge before the evaluation adds nothing
    await until(5_110);
    // A burst right after a scheduled evaluation is not held back: the debounce spaces nudges only.
    expect(evaluatedAt).toEqual([0, 5_005, 5_100]);
    await until(5_300);
    scaler.nudge();
    await until(6_090);
    expect(evaluatedAt).toEqual([0, 5_005, 5_100]); // debounced: 1 s after the last nudged evaluation
    await until(6_110);
    expect(evaluatedAt).toEqual([0, 5_005, 5_100, 6_100]);

    await until(59_990);
    expect(evaluatedAt).toHaveLength(4);
    await until(60_010);
    expect(evaluatedAt).toEqual([0, 5_005, 5_100, 6_100, 60_000]); // the next tick, on time
    await scaler.close();
  });

  it('new items are decided at once after a change nudge: each kind of nudge is debounced on its own', async () => {
    const evaluatedAt: number[] = [];
    const scaler = loopScaler(evaluatedAt);
    scaler.start();
    await until(0);
    expect(evaluatedAt).toEqual([0]); // the first tick

    await until(2_000);
    scaler.nudge(); // a capacity reading changed
    await until(2_010);
    expect(evaluatedAt).toEqual([0, 2_000]);
    await until(2_050);
    scaler.nudge('items'); // the burst, 50 ms later: not held back by the change's debounce
    await until(2_060);
    expect(evaluatedAt).toEqual([0, 2_000, 2_050]);

    await until(2_100);
    scaler.nudge(); // a job finished: the change debounce counts from the last early evaluation
    await until(2_200);
    scaler.nudge('items'); // more items, within a second of the last items evaluation: debounced
    await until(3_040);
    expect(evaluatedAt).toEqual([0, 2_000, 2_050]);
    await until(3_060);
    expect(evaluatedAt).toEqual([0, 2_000, 2_050, 3_050]); // one evaluation for both

    await until(3_100);
    scaler.nudge(); // a change waiting out its debounce (until 4,050)...
    await until(3_500);
    expect(evaluatedAt).toHaveLength(4);
    scaler.nudge('items'); // ...and items 450 ms after the last items evaluation: due at 4,050 too
    await until(4_040);
    expect(evaluatedAt).toHaveLength(4);
    await until(4_060);
    expect(evaluatedAt).toEqual([0, 2_000, 2_050, 3_050, 4_050]);

    await until(5_000);
    scaler.nudge(); // a change 950 ms after the last early evaluation (4,050): debounced until 5,050
    await until(5_010);
    expect(evaluatedAt).toEqual([0, 2_000, 2_050, 3_050, 4_050]);
    await until(5_020);
    scaler.nudge('items'); // items 970 ms after the last items evaluation: due at 5,050 as well
    await until(5_060);
    expect(evaluatedAt).toEqual([0, 2_000, 2_050, 3_050, 4_050, 5_050]);
    await scaler.close();
  });

  it('a clock that jumps backwards does not stall the loop: the next tick still comes', async () => {
    const evaluatedAt: number[] = [];
    const scaler = loopScaler(evaluatedAt);
    scaler.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(30_000);
    vi.setSystemTime(Date.now() - 3_600_000); // NTP steps back an hour mid-sleep
    scaler.nudge(); // anything that wakes the loop: it must see the tick is not an hour away
    await vi.advanceTimersByTimeAsync(2_000);
    const afterJump = evaluatedAt.length;
    await vi.advanceTimersByTimeAsync(61_000);
    expect(evaluatedAt.length).toBeGreaterThan(afterJump); // a tick within one interval, not an hour
    await scaler.close();
  });
});
