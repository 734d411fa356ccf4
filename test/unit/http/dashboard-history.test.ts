import { describe, expect, it } from 'vitest';
import { decisionRows, thinDecisions } from '../../../src/http/decision-rows.js';
import { burstWindow, parseRange, rangeWindow } from '../../../src/http/time-range.js';
import type { DecisionRecord } from '../../../src/shared/decision-record.js';

function d(at: number, current: number, target: number, pending = 0): DecisionRecord {
  const action = target > current ? 'up' : target < current ? 'down' : 'hold';
  return { at, queue: 'q', pending, current, desired: target, target, action, reason: 'r' };
}

describe('decisionRows', () => {
  it('keeps every change and folds runs of identical holds with their count', () => {
    const newestFirst = [d(90, 2, 2), d(80, 2, 2), d(70, 3, 2), d(60, 3, 3), d(50, 3, 3), d(40, 3, 3), d(30, 0, 3)];
    const rows = decisionRows(newestFirst, 10);
    expect(rows.map((r) => [r.action, r.count, r.firstAt, r.at])).toEqual([
      ['hold', 2, 80, 90],
      ['down', 1, 70, 70],
      ['hold', 3, 40, 60],
      ['up', 1, 30, 30],
    ]);
  });

  it('does not fold holds at different worker counts, and stops at the limit', () => {
    const rows = decisionRows([d(3, 1, 1), d(2, 2, 2), d(1, 2, 2), d(0, 0, 2)], 2);
    expect(rows.map((r) => [r.current, r.count])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});

describe('thinDecisions', () => {
  it('keeps at most one hold per slice but every change', () => {
    const all = Array.from({ length: 1000 }, (_, i) => d(i, 1, 1));
    all[500] = d(500, 1, 3);
    const thin = thinDecisions(all, 0, 1000, 10);
    expect(thin.length).toBeLessThanOrEqual(11);
    expect(thin.some((x) => x.action === 'up')).toBe(true);
    expect(thin.at(-1)?.at).toBe(999);
  });
});

describe('time ranges', () => {
  const now = 10 * 3_600_000;
  it('parses the range, defaulting to the last burst', () => {
    expect(parseRange('5m')).toBe('5m');
    expect(parseRange('nope')).toBe('pico');
    expect(parseRange(undefined)).toBe('pico');
  });

  const busy = (at: number, queue = 'a') => ({ at, queue, busy: true });
  const idle = (at: number, queue = 'a') => ({ at, queue, busy: false });

  it('finds the burst going on: from the first busy moment after all queues were idle', () => {
    const m = 60_000;
    const moments = [
      busy(now - 30 * m), // an earlier burst ...
      idle(now - 20 * m), // ... ended: queue a idle
      busy(now - 19 * m, 'b'),
      idle(now - 18 * m, 'b'), // now both idle
      idle(now - 5 * m),
      busy(now - 4 * m),
      busy(now - 3 * m, 'b'),
      idle(now - 2 * m), // a idle, b still busy: same burst
      busy(now - 1 * m, 'b'),
    ];
    expect(burstWindow(moments, now)).toEqual({ sinceMs: now - 5 * m, untilMs: now });
  });

  it('splits bursts separated by a silence longer than the gap', () => {
    const m = 60_000;
    expect(burstWindow([busy(now - 40 * m), busy(now - 12 * m), busy(now - 11 * m)], now)).toEqual({
      sinceMs: now - 13 * m,
      untilMs: now,
    });
  });

  it('shows at least two minutes, ends a past burst shortly after it, and falls back to an hour', () => {
    expect(burstWindow([busy(now - 10_000)], now)).toEqual({ sinceMs: now - 120_000, untilMs: now });
    const past = now - 2 * 3_600_000;
    expect(burstWindow([busy(past - 120_000), busy(past - 60_000), idle(past)], now)).toEqual({
      sinceMs: past - 180_000,
      untilMs: past + 60_000,
    });
    expect(burstWindow([], now)).toEqual({ sinceMs: now - 3_600_000, untilMs: now });
    expect(burstWindow([idle(now - 1000)], now)).toEqual({ sinceMs: now - 3_600_000, untilMs: now });
    // A clock that jumped back: moments "in the future" are not the burst.
    expect(burstWindow([busy(now + 60_000)], now)).toEqual({ sinceMs: now - 3_600_000, untilMs: now });
  });

  it('gives fixed windows for 5 min, 1 h, 24 h and 7 days', () => {
    expect(rangeWindow('5m', now, [])).toEqual({ sinceMs: now - 300_000, untilMs: now });
    expect(parseRange('7d')).toBe('7d');
    expect(rangeWindow('7d', now, [])).toEqual({ sinceMs: now - 7 * 86_400_000, untilMs: now });
    expect(rangeWindow('24h', now, [busy(now - 1000)])).toEqual({ sinceMs: now - 86_400_000, untilMs: now });
  });
});
