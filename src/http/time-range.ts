/**
 * The dashboard's time ranges: the last 5 min, 1 h, 24 h, 7 days, or "since the last burst" (the
 * default), the latest stretch of work found in the decision history, so a one-minute demo fills
 * the chart.
 */

export const TIME_RANGES = ['pico', '5m', '1h', '24h', '7d'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];

const FIXED_MS: Record<Exclude<TimeRange, 'pico'>, number> = {
  '5m': 5 * 60_000,
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
};

/** How far back the burst search reads the decision history. */
export const BURST_LOOKBACK_MS = FIXED_MS['24h'];

/** Options of {@link burstStart}. */
export interface BurstOptions {
  /** Busy moments further apart than this belong to different bursts. @defaultValue 600_000 */
  readonly gapMs?: number;
  /** Shown before the burst's first busy moment. @defaultValue 60_000 */
  readonly marginMs?: number;
  /** Shortest window shown, so a burst that just began is not a sliver. @defaultValue 120_000 */
  readonly minSpanMs?: number;
}

/** Parses `?range=`; anything else is the default. */
export function parseRange(raw: unknown): TimeRange {
  return TIME_RANGES.includes(raw as TimeRange) ? (raw as TimeRange) : 'pico';
}

/** A window of time, ms since epoch. */
export interface TimeWindow {
  readonly sinceMs: number;
  readonly untilMs: number;
}

/** One queue's state at one moment, from the decision history. */
export interface LoadMoment {
  readonly at: number;
  readonly queue: string;
  /** Jobs pending or workers up. */
  readonly busy: boolean;
}

/**
 * The last burst: the latest stretch of work, from the first busy moment after every queue was
 * idle (or after a silence longer than `gapMs`) until every queue is idle again. Shown from a
 * margin before it up to now while it goes on or ended less than `gapMs` ago, else up to a margin
 * after its end. No work at all: the last hour. Moments "in the future" (a clock that jumped
 * back) are left out.
 */
export function burstWindow(moments: readonly LoadMoment[], now: number, options: BurstOptions = {}): TimeWindow {
  const gapMs = options.gapMs ?? 600_000;
  const marginMs = options.marginMs ?? 60_000;
  const minSpanMs = options.minSpanMs ?? 120_000;
  const sorted = moments.filter((m) => m.at <= now).sort((a, b) => a.at - b.at);
  const busyNow = new Map<string, boolean>();
  let start: number | undefined;
  let lastBusy: number | undefined;
  let last: { start: number; end: number } | undefined;
  for (const m of sorted) {
    busyNow.set(m.queue, m.busy);
    if (m.busy) {
      if (start !== undefined && lastBusy !== undefined && m.at - lastBusy > gapMs) {
        last = { start, end: lastBusy };
        start = undefined;
      }
      start ??= m.at;
      lastBusy = m.at;
    } else if (start !== undefined && ![...busyNow.values()].some(Boolean)) {
      last = { start, end: m.at };
      start = undefined;
    }
  }
  const burst = start !== undefined ? { start, end: now } : last;
  if (!burst) return { sinceMs: now - FIXED_MS['1h'], untilMs: now };
  const untilMs = now - burst.end <= gapMs ? now : burst.end + marginMs;
  return { sinceMs: Math.min(burst.start - marginMs, untilMs - minSpanMs), untilMs };
}

/** The window of a range; `moments` only matter for `pico`. */
export function rangeWindow(range: TimeRange, now: number, moments: readonly LoadMoment[]): TimeWindow {
  if (range === 'pico') return burstWindow(moments, now);
  return { sinceMs: now - FIXED_MS[range], untilMs: now };
}
