import type { Redis } from 'ioredis';
import type {
  HistoryPoint,
  HistorySeries,
  InstanceShare,
  OutcomeCounts,
  PoolHistorySource,
  QueueHistorySeries,
} from '../shared/pool-history.js';
import { quantileMs } from './histogram.js';
import { MINUTE_TIER, bucketStart, historyKey, instanceOfField, tierFor, type Tier } from './history-keys.js';
import { decodeTally, sumTallies, timedAttempts, type Tally } from './tally.js';

/** Options for {@link PoolHistoryReader}. */
export interface PoolHistoryReaderOptions {
  readonly redis: Redis;
  /** `redis.prefix`. */
  readonly prefix: string;
  readonly queues: readonly string[];
  /** @defaultValue Date.now */
  readonly clock?: () => number;
}

/** A stuck-bridge report older than this is from an instance that stopped reporting: ignored. */
const STALE_GAUGE_MS = 10_000;

/** The records of one bucket: field (instance run) → tally. */
type BucketRecords = ReadonlyMap<string, Tally>;

/**
 * Reads the pool history every instance writes (history-writer.ts): sums the instances' records
 * of each bucket. A range is read at the finest tier that shows it in at most 200 buckets per
 * queue, all in one pipelined round trip, so a week costs about as much as an hour.
 */
export class PoolHistoryReader implements PoolHistorySource {
  readonly #o: PoolHistoryReaderOptions;
  readonly #clock: () => number;

  constructor(options: PoolHistoryReaderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** Every queue's buckets of `tier` from the one holding `sinceMs` to the one holding `untilMs`. */
  async #read(tier: Tier, sinceMs: number, untilMs: number): Promise<Map<string, Map<number, BucketRecords>>> {
    const starts: number[] = [];
    for (let t = bucketStart(tier, sinceMs); t <= untilMs; t += tier.ms) starts.push(t);
    const pipeline = this.#o.redis.pipeline();
    for (const queue of this.#o.queues) {
      for (const start of starts) pipeline.hgetall(historyKey(this.#o.prefix, queue, tier, start));
    }
    const results = (await pipeline.exec()) ?? [];
    const out = new Map<string, Map<number, BucketRecords>>();
    let i = 0;
    for (const queue of this.#o.queues) {
      const buckets = new Map<number, BucketRecords>();
      for (const start of starts) {
        const [err, value] = results[i++] ?? [null, null];
        if (err) throw err;
        const fields = (value ?? {}) as Record<string, string>;
        const records = new Map<string, Tally>();
        for (const [field, raw] of Object.entries(fields)) records.set(field, decodeTally(raw));
        if (records.size > 0) buckets.set(start, records);
      }
      out.set(queue, buckets);
    }
    return out;
  }

  async series(sinceMs: number, untilMs: number): Promise<HistorySeries> {
    const tier = tierFor(untilMs - sinceMs);
    const read = await this.#read(tier, sinceMs, untilMs);
    const queues: Record<string, QueueHistorySeries> = {};
    for (const [queue, buckets] of read) {
      const points: HistoryPoint[] = [];
      const instances: Record<string, InstanceShare> = {};
      for (const [at, records] of [...buckets].sort((a, b) => a[0] - b[0])) {
        const t = sumTallies([...records.values()]);
        points.push({
          at,
          completed: t.ok,
          failed: t.error + t.retry,
          retried: t.retry,
          expired: t.expired,
          invalid: t.invalid,
          p50Ms: quantileMs(t.hist, 0.5, t.maxMs),
          p90Ms: quantileMs(t.hist, 0.9, t.maxMs),
          p99Ms: quantileMs(t.hist, 0.99, t.maxMs),
          pending: t.pending,
          pendingMax: t.pendingMax,
          workers: t.workers,
          workersMax: t.workersMax,
        });
        for (const [field, r] of records) {
          const id = instanceOfField(field);
          const share = instances[id] ?? { completed: 0, failed: 0 };
          instances[id] = { completed: share.completed + r.ok, failed: share.failed + r.error + r.retry };
        }
      }
      queues[queue] = { points, instances };
    }
    return { stepMs: tier.ms, queues };
  }

  async outcomes(windowMs: number): Promise<Readonly<Record<string, OutcomeCounts>>> {
    const now = this.#clock();
    const since = now - Math.max(0, windowMs);
    const read = await this.#read(MINUTE_TIER, since, now);
    const out: Record<string, OutcomeCounts> = {};
    const all = { ok: 0, error: 0, retry: 0, expired: 0, invalid: 0, sumMs: 0, timed: 0 };
    for (const [queue, buckets] of read) {
      const q = { ok: 0, error: 0, retry: 0, expired: 0, invalid: 0, sumMs: 0, timed: 0 };
      for (const [start, records] of buckets) {
        const weight = overlapWeight(start, MINUTE_TIER.ms, since, now);
        if (weight <= 0) continue;
        const t = sumTallies([...records.values()]);
        q.ok += t.ok * weight;
        q.error += t.error * weight;
        q.retry += t.retry * weight;
        q.expired += t.expired * weight;
        q.invalid += t.invalid * weight;
        q.sumMs += t.sumMs * weight;
        q.timed += timedAttempts(t) * weight;
      }
      out[queue] = counts(q);
      for (const k of Object.keys(all) as (keyof typeof all)[]) all[k] += q[k];
    }
    out[''] = counts(all);
    return out;
  }

  async bridgeStuckSeconds(): Promise<Readonly<Record<string, number>>> {
    const now = this.#clock();
    const read = await this.#read(MINUTE_TIER, now - MINUTE_TIER.ms, now);
    const out: Record<string, number> = {};
    for (const [queue, buckets] of read) {
      // Per instance run, its latest report (the current minute's, or the last one's).
      const latest = new Map<string, Tally>();
      for (const records of buckets.values()) {
        for (const [field, t] of records) if (t.at > (latest.get(field)?.at ?? -1)) latest.set(field, t);
      }
      out[queue] = Math.max(
        0,
        ...[...latest.values()].filter((t) => now - t.at <= STALE_GAUGE_MS).map((t) => t.bridgeStuckSeconds),
      );
    }
    return out;
  }
}

/**
 * The share of a bucket's counts that falls in `[since, now]`, taking its events as spread evenly
 * over the part of it that has passed (`[start, min(end, now)]`).
 */
export function overlapWeight(start: number, lengthMs: number, since: number, now: number): number {
  const end = Math.min(start + lengthMs, now);
  if (end <= start) return start <= now && start >= since ? 1 : 0;
  const overlap = Math.min(end, now) - Math.max(start, since);
  return Math.max(0, Math.min(1, overlap / (end - start)));
}

function counts(q: {
  ok: number;
  error: number;
  retry: number;
  expired: number;
  invalid: number;
  sumMs: number;
  timed: number;
}): OutcomeCounts {
  // A partly covered minute adds a fraction of its counts (kept to thousandths).
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    ok: round(q.ok),
    error: round(q.error),
    retry: round(q.retry),
    expired: round(q.expired),
    invalid: round(q.invalid),
    meanDurationMs: q.timed > 0 ? q.sumMs / q.timed : null,
  };
}
