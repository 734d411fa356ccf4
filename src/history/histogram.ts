/**
 * Job times as a histogram with fixed buckets, so the instances of a pool can each count their own
 * and a reader adds the counts up: percentiles of the sum are percentiles of the whole pool (a
 * sample or a per-instance percentile could not be merged). Pure.
 *
 * Bucket `i` holds times in (upper(i − 1), upper(i)] with upper(i) = 10 ms × 2^(i/3): three buckets
 * per doubling, so a percentile read from it is within ~26 % of the true one; 0 holds ≤ 10 ms, the
 * last one everything above ~17 min.
 */

/** Number of buckets. */
export const HISTOGRAM_BUCKETS = 52;
const FIRST_UPPER_MS = 10;
const PER_DOUBLING = 3;

/** Upper bound of bucket `i`, ms (Infinity for the last). */
export function bucketUpperMs(i: number): number {
  if (i >= HISTOGRAM_BUCKETS - 1) return Number.POSITIVE_INFINITY;
  return FIRST_UPPER_MS * 2 ** (i / PER_DOUBLING);
}

/** Lower bound of bucket `i`, ms. */
export function bucketLowerMs(i: number): number {
  return i <= 0 ? 0 : bucketUpperMs(i - 1);
}

/** The bucket a time falls in. */
export function bucketOf(ms: number): number {
  if (!(ms > FIRST_UPPER_MS)) return 0;
  // Exact powers land on their own bucket's upper bound; the epsilon keeps 20 ms in bucket 3.
  const i = Math.ceil(PER_DOUBLING * Math.log2(ms / FIRST_UPPER_MS) - 1e-9);
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.max(0, i));
}

/** Sparse bucket counts: bucket index → count. */
export type BucketCounts = Readonly<Record<number, number>>;

/** Adds `b` into a copy of `a`. */
export function mergeBuckets(a: BucketCounts, b: BucketCounts): Record<number, number> {
  const out: Record<number, number> = { ...a };
  for (const [k, n] of Object.entries(b)) out[Number(k)] = (out[Number(k)] ?? 0) + n;
  return out;
}

/**
 * The time at quantile `q` (0..1) of the counted times, interpolated linearly inside the bucket
 * that holds it (as Prometheus's histogram_quantile); never above `maxMs` when it is known (the
 * top bucket has no upper bound). 0 when nothing was counted.
 */
export function quantileMs(buckets: BucketCounts, q: number, maxMs?: number): number {
  const entries = Object.entries(buckets)
    .map(([k, n]) => [Number(k), n] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => x[0] - y[0]);
  const total = entries.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return 0;
  const rank = Math.min(total, Math.max(0, q) * total);
  let seen = 0;
  for (const [i, n] of entries) {
    if (seen + n >= rank) {
      const lower = bucketLowerMs(i);
      const upper = Math.min(bucketUpperMs(i), maxMs ?? Number.POSITIVE_INFINITY);
      const top = Number.isFinite(upper) ? Math.max(upper, lower) : lower;
      const value = lower + ((top - lower) * (rank - seen)) / n;
      return Math.round(maxMs === undefined ? value : Math.min(value, maxMs));
    }
    seen += n;
  }
  return Math.round(maxMs ?? bucketLowerMs(entries.at(-1)?.[0] ?? 0));
}
