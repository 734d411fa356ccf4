/**
 * The dashboard's time ranges: the last 5 min, 1 h, 24 h, or "since the last burst" (the default),
 * the latest stretch of work found in the decision history, so a one-minute demo fills the chart.
 */

export const TIME_RANGES = ['pico', '5m', '1h', '24h'] as const;
export type TimeRange = (typeof TIME_RANGES)[number];

const FIXED_MS: Record<Exclude<TimeRange, 'pico'>, number> = {
  '5m': 5 * 60_000,
  '1h': 3_600_000,
  '24h': 86_400_000,
};

/** The longest range: what the burst search and the per-minute series look back over. */
export const MAX_RANGE_MS = FIXED_MS['24h'];

/** Options of {@link burstStart}. */
export interface BurstOptions {
  /** Busy moments further apart than this belong to different bursts. @defaultValue 600_000 */
  readonly gapMs?: number;
  /** Shown before the burst's first busy moment. @defaultValue 60_000 */
  readonly marginMs?: number;
  /** Shortest window shown, so a burst that just began is not a sliver. @defaultValue 300_000 */
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

/**
 * The last burst: walking back from the newest moment with work (`busyTimes`, any order), the
 * oldest one not separated from the next by more than `gapMs`, minus a margin; up to now while the
 * burst may go on (work within `gapMs`), else a margin after its end. No work at all: the last hour.
 */
export function burstWindow(busyTimes: readonly number[], now: number, options: BurstOptions = {}): TimeWindow {
  const gapMs = options.gapMs ?? 600_000;
  const marginMs = options.marginMs ?? 60_000;
  const minSpanMs = options.minSpanMs ?? 300_000;
  const times = [...busyTimes].filter((t) => t <= now).sort((a, b) => b - a);
  const newest = times[0];
  if (newest === undefined) return { sinceMs: now - FIXED_MS['1h'], untilMs: now };
  let start = newest;
  for (const t of times.slice(1)) {
    if (start - t > gapMs) break;
    start = t;
  }
  const untilMs = now - newest <= gapMs ? now : newest + marginMs;
  return { sinceMs: Math.min(start - marginMs, untilMs - minSpanMs), untilMs };
}

/** The window of a range; `busyTimes` only matter for `pico`. */
export function rangeWindow(range: TimeRange, now: number, busyTimes: readonly number[]): TimeWindow {
  if (range === 'pico') return burstWindow(busyTimes, now);
  return { sinceMs: now - FIXED_MS[range], untilMs: now };
}
