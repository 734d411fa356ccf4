/**
 * Where the pool history lives in Redis (README "Redis keys"): one hash per queue and time bucket,
 * `<prefix>:rpa:metrics:<queue>:<tier>:<bucket start, ms>`, one field per instance run
 * (`<instance id>#<run>`) holding that run's {@link Tally} of the bucket as JSON. Three tiers of the
 * same numbers, each written by every instance, so a reader of any range reads a few hundred
 * hashes at most: minutes (the last hours), ten minutes (a day), hours (a week).
 */

/** A bucket size: its name in the key and its length. */
export interface Tier {
  readonly name: '1m' | '10m' | '1h';
  readonly ms: number;
}

export const TIERS: readonly Tier[] = [
  { name: '1m', ms: 60_000 },
  { name: '10m', ms: 600_000 },
  { name: '1h', ms: 3_600_000 },
];

export const MINUTE_TIER = TIERS[0] as Tier;

/** Most buckets a reader wants per queue and chart: picks the finest tier that fits. */
const MAX_BUCKETS = 200;

/** The finest tier that shows `spanMs` in at most {@link MAX_BUCKETS} buckets. */
export function tierFor(spanMs: number): Tier {
  return TIERS.find((t) => spanMs / t.ms <= MAX_BUCKETS) ?? (TIERS.at(-1) as Tier);
}

/** Start of the bucket of `tier` that holds `ms`. */
export function bucketStart(tier: Tier, ms: number): number {
  return Math.floor(ms / tier.ms) * tier.ms;
}

/** The hash of one queue's bucket. */
export function historyKey(prefix: string, queue: string, tier: Tier, startMs: number): string {
  return `${prefix}:rpa:metrics:${queue}:${tier.name}:${startMs}`;
}

/** The field of one instance run: its id, `#`, and the run (so a restart never overwrites the past). */
export function runField(instanceId: string, runId: string): string {
  return `${instanceId}#${runId}`;
}

/** The instance id of a field (everything before the last `#`). */
export function instanceOfField(field: string): string {
  const at = field.lastIndexOf('#');
  return at < 0 ? field : field.slice(0, at);
}
