import { describe, expect, it } from 'vitest';
import {
  HISTOGRAM_BUCKETS,
  bucketLowerMs,
  bucketOf,
  bucketUpperMs,
  mergeBuckets,
  quantileMs,
} from '../../../src/history/histogram.js';
import { bucketStart, historyKey, instanceOfField, runField, tierFor } from '../../../src/history/history-keys.js';
import { overlapWeight } from '../../../src/history/history-reader.js';
import {
  EMPTY_TALLY,
  countEvent,
  decodeTally,
  encodeTally,
  isEmptyTally,
  sumTallies,
  withGauges,
  type Tally,
} from '../../../src/history/tally.js';

function tallyOf(durations: readonly number[], outcome: 'ok' | 'error' | 'retry' = 'ok'): Tally {
  return durations.reduce((t, ms) => countEvent(t, { kind: 'job', outcome, durationMs: ms }), EMPTY_TALLY);
}

describe('job-time histogram', () => {
  it('puts every time in the bucket whose bounds hold it', () => {
    for (const ms of [0, 1, 10, 10.5, 20, 99, 100, 101, 333, 1000, 59_999, 300_000, 3_600_000]) {
      const i = bucketOf(ms);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(HISTOGRAM_BUCKETS);
      expect(ms).toBeGreaterThanOrEqual(bucketLowerMs(i) - (i === 0 ? 0 : 1e-6));
      expect(ms).toBeLessThanOrEqual(bucketUpperMs(i) + 1e-6);
    }
    expect(bucketOf(20)).toBe(3); // 10 × 2^(3/3): on its own bucket's upper bound
    expect(bucketUpperMs(HISTOGRAM_BUCKETS - 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('gives percentiles within a bucket (~26 %) of the exact ones, capped by the largest time', () => {
    const times = Array.from({ length: 1000 }, (_, i) => 200 + i * 3); // 200 .. 3197 ms
    const t = tallyOf(times);
    for (const [q, exact] of [
      [0.5, 1697],
      [0.9, 2897],
      [0.99, 3167],
    ] as const) {
      const got = quantileMs(t.hist, q, t.maxMs);
      expect(Math.abs(got - exact) / exact).toBeLessThan(0.26);
    }
    expect(quantileMs(t.hist, 1, t.maxMs)).toBeLessThanOrEqual(3197);
    expect(quantileMs({}, 0.5)).toBe(0);
  });

  it('merges across instances: the percentiles of the sum are those of all the times', () => {
    const a = tallyOf(Array.from({ length: 500 }, () => 100));
    const b = tallyOf(Array.from({ length: 500 }, () => 10_000));
    const merged = mergeBuckets(a.hist, b.hist);
    expect(quantileMs(merged, 0.25)).toBeLessThanOrEqual(100);
    expect(quantileMs(merged, 0.75)).toBeGreaterThan(7000);
    expect(sumTallies([a, b]).hist).toEqual(merged);
  });
});

describe('tally', () => {
  it('counts outcomes, times of attempts that ran, and invalid items', () => {
    let t = tallyOf([100, 200]);
    t = countEvent(t, { kind: 'job', outcome: 'retry', durationMs: 300 });
    t = countEvent(t, { kind: 'job', outcome: 'error', durationMs: 400 });
    t = countEvent(t, { kind: 'job', outcome: 'expired', durationMs: 0 });
    t = countEvent(t, { kind: 'invalid' });
    expect([t.ok, t.error, t.retry, t.expired, t.invalid, t.sumMs, t.maxMs]).toEqual([2, 1, 1, 1, 1, 1000, 400]);
    expect(Object.values(t.hist).reduce((a, b) => a + b, 0)).toBe(4); // the expired job did not run
  });

  it('sums instances: counts and units add up, pending is the freshest report, peaks the largest', () => {
    const a = withGauges(tallyOf([100]), { pending: 50, workers: 2, bridgeStuckSeconds: 0 }, 1000);
    const b = withGauges(
      withGauges(tallyOf([100, 100]), { pending: 80, workers: 3, bridgeStuckSeconds: 0 }, 1500),
      { pending: 40, workers: 1, bridgeStuckSeconds: 12 },
      2000,
    );
    const s = sumTallies([a, b]);
    expect([s.ok, s.pending, s.pendingMax, s.workers, s.workersMax, s.bridgeStuckSeconds, s.at]).toEqual([
      3, 40, 80, 3, 5, 12, 2000,
    ]);
  });

  it('round-trips through its compact JSON and reads anything broken as empty', () => {
    const t = withGauges(tallyOf([5, 15, 25_000], 'retry'), { pending: 7, workers: 1, bridgeStuckSeconds: 3 }, 42);
    expect(decodeTally(encodeTally(t))).toEqual(t);
    expect(encodeTally(EMPTY_TALLY)).toBe('{}');
    expect(decodeTally('not json')).toEqual(EMPTY_TALLY);
    expect(decodeTally('{"ok":"x","h":{"a":1,"3":2}}')).toEqual({ ...EMPTY_TALLY, hist: { 3: 2 } });
    expect(isEmptyTally(EMPTY_TALLY)).toBe(true);
    expect(isEmptyTally(withGauges(EMPTY_TALLY, { pending: 1, workers: 0, bridgeStuckSeconds: 0 }, 1))).toBe(false);
  });
});

describe('history keys and windows', () => {
  it('names keys under the prefix, one field per instance run', () => {
    const tier = tierFor(3_600_000);
    expect(tier.name).toBe('1m');
    expect(tierFor(86_400_000).name).toBe('10m');
    expect(tierFor(7 * 86_400_000).name).toBe('1h');
    expect(historyKey('bull', 'conferencia', tier, bucketStart(tier, 125_000))).toBe(
      'bull:rpa:metrics:conferencia:1m:120000',
    );
    expect(instanceOfField(runField('maq#a', 'r1'))).toBe('maq#a');
  });

  it('weighs a minute by the share of its elapsed part inside the window', () => {
    const m = 60_000;
    // The minute running now, 30 s in: a 15 s window takes half of what it counted so far.
    expect(overlapWeight(10 * m, m, 10 * m + 15_000, 10 * m + 30_000)).toBeCloseTo(0.5);
    // A past minute wholly in the window, and one half in it.
    expect(overlapWeight(8 * m, m, 7 * m, 10 * m)).toBe(1);
    expect(overlapWeight(8 * m, m, 8 * m + 30_000, 10 * m)).toBeCloseTo(0.5);
    expect(overlapWeight(5 * m, m, 7 * m, 10 * m)).toBe(0);
  });
});
