/**
 * One instance's numbers for one queue over one time bucket (a minute, ten minutes, an hour): what
 * the pool history keeps in Redis, one record per instance run, summed by the readers. Pure.
 */
import { bucketOf, mergeBuckets, type BucketCounts } from './histogram.js';

/** What happened in a bucket (counts add up across instances) and the gauges at its end. */
export interface Tally {
  /** Jobs completed (outcome ok). */
  readonly ok: number;
  /** Jobs whose last attempt failed (result entry `status: "error"`). */
  readonly error: number;
  /** Failed attempts that will be tried again. */
  readonly retry: number;
  /** Jobs not run because their deadline (`prazo`) had passed. */
  readonly expired: number;
  /** Items the bridge sent to the invalid list. */
  readonly invalid: number;
  /** Sum and count of the attempts' times in `hist` (ok, error, retry), ms. */
  readonly sumMs: number;
  readonly maxMs: number;
  readonly hist: BucketCounts;
  /** Pending jobs (global, as this instance last saw them) at the last write, and the most seen. */
  readonly pending: number;
  readonly pendingMax: number;
  /** This instance's live units of the queue at the last write, and the most seen. */
  readonly workers: number;
  readonly workersMax: number;
  /** Seconds this instance's bridge of the queue had been stuck at the last write. */
  readonly bridgeStuckSeconds: number;
  /** When the record was last written, ms (a gauge older than a few seconds is stale). */
  readonly at: number;
}

export const EMPTY_TALLY: Tally = {
  ok: 0,
  error: 0,
  retry: 0,
  expired: 0,
  invalid: 0,
  sumMs: 0,
  maxMs: 0,
  hist: {},
  pending: 0,
  pendingMax: 0,
  workers: 0,
  workersMax: 0,
  bridgeStuckSeconds: 0,
  at: 0,
};

/** A finished attempt, or an item sent to the invalid list. */
export type TallyEvent =
  | { readonly kind: 'job'; readonly outcome: 'ok' | 'error' | 'retry' | 'expired'; readonly durationMs: number }
  | { readonly kind: 'invalid' };

/** The gauges an instance reports for a queue. */
export interface TallyGauges {
  readonly pending: number;
  readonly workers: number;
  readonly bridgeStuckSeconds: number;
}

/** `t` with one event counted. */
export function countEvent(t: Tally, e: TallyEvent): Tally {
  if (e.kind === 'invalid') return { ...t, invalid: t.invalid + 1 };
  const counted = { ...t, [e.outcome]: t[e.outcome] + 1 };
  // An expired job did not run: it has no time.
  if (e.outcome === 'expired') return counted;
  const ms = Math.max(0, Math.round(e.durationMs));
  const b = bucketOf(ms);
  return {
    ...counted,
    sumMs: t.sumMs + ms,
    maxMs: Math.max(t.maxMs, ms),
    hist: { ...t.hist, [b]: (t.hist[b] ?? 0) + 1 },
  };
}

/** `t` with the gauges of now (`at`). */
export function withGauges(t: Tally, g: TallyGauges, at: number): Tally {
  return {
    ...t,
    pending: g.pending,
    pendingMax: Math.max(t.pendingMax, g.pending),
    workers: g.workers,
    workersMax: Math.max(t.workersMax, g.workers),
    bridgeStuckSeconds: g.bridgeStuckSeconds,
    at,
  };
}

/** True when the record says nothing: no event and every gauge at 0. */
export function isEmptyTally(t: Tally): boolean {
  return (
    t.ok + t.error + t.retry + t.expired + t.invalid === 0 &&
    t.pendingMax === 0 &&
    t.workersMax === 0 &&
    t.bridgeStuckSeconds === 0
  );
}

/** Attempts timed in `hist` (ok, error and retry). */
export function timedAttempts(t: Tally): number {
  return t.ok + t.error + t.retry;
}

/**
 * Several instances' records of one bucket as one: counts and histograms add up, as do the units
 * (each instance reports its own); pending is global, so the freshest report wins (its peak: the
 * largest seen).
 */
export function sumTallies(tallies: readonly Tally[]): Tally {
  let out = EMPTY_TALLY;
  let freshest = -1;
  for (const t of tallies) {
    out = {
      ok: out.ok + t.ok,
      error: out.error + t.error,
      retry: out.retry + t.retry,
      expired: out.expired + t.expired,
      invalid: out.invalid + t.invalid,
      sumMs: out.sumMs + t.sumMs,
      maxMs: Math.max(out.maxMs, t.maxMs),
      hist: mergeBuckets(out.hist, t.hist),
      pending: t.at > freshest ? t.pending : out.pending,
      pendingMax: Math.max(out.pendingMax, t.pendingMax),
      workers: out.workers + t.workers,
      workersMax: out.workersMax + t.workersMax,
      bridgeStuckSeconds: Math.max(out.bridgeStuckSeconds, t.bridgeStuckSeconds),
      at: Math.max(out.at, t.at),
    };
    freshest = Math.max(freshest, t.at);
  }
  return out;
}

/** Short JSON keys: a week of minutes is kept per queue and instance. */
const WIRE: readonly (readonly [keyof Tally, string])[] = [
  ['ok', 'ok'],
  ['error', 'er'],
  ['retry', 'rt'],
  ['expired', 'ex'],
  ['invalid', 'iv'],
  ['sumMs', 'ms'],
  ['maxMs', 'mx'],
  ['pending', 'p'],
  ['pendingMax', 'pm'],
  ['workers', 'w'],
  ['workersMax', 'wm'],
  ['bridgeStuckSeconds', 'bs'],
  ['at', 'at'],
];

/** The record as stored: compact JSON, zero fields left out. */
export function encodeTally(t: Tally): string {
  const out: Record<string, unknown> = {};
  for (const [field, wire] of WIRE) if (t[field] !== 0) out[wire] = t[field];
  if (Object.keys(t.hist).length > 0) out.h = t.hist;
  return JSON.stringify(out);
}

/** A stored record; anything unreadable counts as empty (a reader never fails on one bad field). */
export function decodeTally(raw: string): Tally {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return EMPTY_TALLY;
  }
  if (typeof parsed !== 'object' || parsed === null) return EMPTY_TALLY;
  const o = parsed as Record<string, unknown>;
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const out: Record<string, unknown> = { ...EMPTY_TALLY };
  for (const [field, wire] of WIRE) out[field] = num(o[wire]);
  const hist: Record<number, number> = {};
  if (typeof o.h === 'object' && o.h !== null) {
    for (const [k, v] of Object.entries(o.h as Record<string, unknown>)) {
      const i = Number(k);
      if (Number.isInteger(i) && i >= 0 && num(v) > 0) hist[i] = num(v);
    }
  }
  out.hist = hist;
  return out as unknown as Tally;
}
