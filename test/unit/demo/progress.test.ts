import { describe, expect, it } from 'vitest';
import { formatDuration, progressLine, ProgressTracker, summaryLines } from '../../../src/demo/progress.js';

describe('ProgressTracker', () => {
  it('counts ok and errors and knows when the run is complete', () => {
    const t = new ProgressTracker({ total: 3, startedAtMs: 0 });
    t.record('ok', 1000);
    t.record('error', 2000);
    expect(t.complete).toBe(false);
    t.record('ok', 3000);
    expect(t.complete).toBe(true);
    expect(t.snapshot(3000)).toMatchObject({ total: 3, done: 3, ok: 2, errors: 1, elapsedMs: 3000 });
  });

  it('never completes unbounded', () => {
    const t = new ProgressTracker({ startedAtMs: 0 });
    for (let i = 0; i < 100; i++) t.record('ok', i);
    expect(t.complete).toBe(false);
  });

  it('measures throughput over the recent window and keeps the peak', () => {
    const t = new ProgressTracker({ total: 1000, startedAtMs: 0, windowMs: 30_000, warmupMs: 10_000 });
    // 2 jobs per second for the first 60 s: 120 jobs/min.
    for (let ms = 500; ms <= 60_000; ms += 500) t.record('ok', ms);
    expect(t.snapshot(60_000).perMinute).toBeCloseTo(120, 0);
    // Then 1 job per second: the window forgets the faster past, the peak does not.
    for (let ms = 61_000; ms <= 120_000; ms += 1000) t.record('ok', ms);
    const s = t.snapshot(120_000);
    expect(s.perMinute).toBeCloseTo(60, 0);
    expect(s.peakPerMinute).toBeGreaterThanOrEqual(120);
    expect(s.peakPerMinute).toBeLessThan(125);
    // Nothing more for a while: the rate falls to zero.
    expect(t.snapshot(200_000).perMinute).toBe(0);
  });

  it('does not let one early job set the peak', () => {
    const t = new ProgressTracker({ total: 10, startedAtMs: 0, warmupMs: 10_000 });
    t.record('ok', 100); // would be 600 jobs/min over 0.1 s
    expect(t.snapshot(100).peakPerMinute).toBe(0);
    expect(t.snapshot(20_000).peakPerMinute).toBeCloseTo(3, 5);
  });
});

describe('progress text', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(45_400)).toBe('45s');
    expect(formatDuration(125_000)).toBe('2m 05s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
  });

  it('shows done of total, rate, errors and time', () => {
    const line = progressLine({
      total: 325,
      done: 120,
      ok: 119,
      errors: 1,
      elapsedMs: 72_000,
      perMinute: 95.4,
      peakPerMinute: 100,
    });
    expect(line).toBe('120/325 done (36%) · 95 jobs/min · 1 error · 1m 12s');
    expect(
      progressLine({ total: undefined, done: 7, ok: 7, errors: 0, elapsedMs: 0, perMinute: 0, peakPerMinute: 0 }),
    ).toBe('7 done · 0 jobs/min · 0 errors · 0s');
  });

  it('summarises with the peak never below the average', () => {
    const lines = summaryLines({
      total: 60,
      done: 60,
      ok: 58,
      errors: 2,
      elapsedMs: 6000,
      perMinute: 0,
      peakPerMinute: 0,
    });
    expect(lines.join('\n')).toMatch(/results: +60 of 60/);
    expect(lines.join('\n')).toMatch(/errors: +2/);
    expect(lines.join('\n')).toMatch(/600 jobs\/min on average, peak 600 jobs\/min/);
  });
});
