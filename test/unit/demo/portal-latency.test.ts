import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FaultInjector } from '../../../src/demo/portal/faults.js';

/** Resolves to how long (fake ms) one `delay` took: its one timer, run. */
async function delayOf(faults: FaultInjector): Promise<number> {
  const start = Date.now();
  const waiting = faults.delay(new AbortController().signal);
  await vi.runAllTimersAsync();
  await waiting;
  return Date.now() - start;
}

describe('the demo portal’s latency (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('exact without jitter, and the jitter spreads it evenly either way', async () => {
    const draws = [0, 1, 0.5, 0.25];
    const faults = new FaultInjector({ latencyMs: 1000, errorRate: 0, random: () => draws.shift() ?? 0.5 });
    expect(await delayOf(faults)).toBe(1000); // no jitter: no draw either
    expect(draws).toHaveLength(4);
    faults.setLatencyJitterMs(100);
    expect(await delayOf(faults)).toBe(900); // draw 0 → −100
    expect(await delayOf(faults)).toBe(1100); // draw 1 → +100
    expect(await delayOf(faults)).toBe(1000); // draw 0.5 → 0
    expect(await delayOf(faults)).toBe(950); // draw 0.25 → −50
  });

  it('never below zero, and no latency at all stays none whatever the jitter', async () => {
    const faults = new FaultInjector({ latencyMs: 30, latencyJitterMs: 100, errorRate: 0, random: () => 0 });
    expect(await delayOf(faults)).toBe(0);
    faults.setLatencyMs(0);
    expect(await delayOf(faults)).toBe(0);
  });
});
