import { describe, expect, it } from 'vitest';
import {
  bucketExpiresAt,
  bucketSecondsFor,
  bucketStartAt,
  liveBucketStarts,
} from '../../../src/workers/completed-ids.js';

const DAY = 86_400;
const at = (iso: string): number => Date.parse(iso);

describe('completed job id buckets', () => {
  it('cuts the window in 24 buckets, at least 1 s wide', () => {
    expect(bucketSecondsFor(DAY)).toBe(3600);
    expect(bucketSecondsFor(7 * DAY)).toBe(25_200);
    expect(bucketSecondsFor(5)).toBe(1);
    expect(bucketSecondsFor(0)).toBe(1);
  });

  it('keeps every id at least the whole window after it was recorded, at most a bucket and a margin more', () => {
    for (const recordedMs of [at('2026-12-01T10:00:00Z'), at('2026-12-01T10:59:59.999Z'), at('2026-12-01T10:30:00Z')]) {
      const start = bucketStartAt(recordedMs, DAY);
      const expires = bucketExpiresAt(start, DAY);
      const recorded = recordedMs / 1000;
      expect(expires).toBeGreaterThanOrEqual(recorded + DAY);
      expect(expires).toBeLessThanOrEqual(recorded + DAY + 3600 + 60);
    }
  });

  it('looks in every bucket an id recorded within the window may be in, and in no expired one', () => {
    const recordedMs = at('2026-12-01T10:59:59Z');
    const bucket = bucketStartAt(recordedMs, DAY);
    // Just before the window ends the bucket is looked in; once Redis expired it, it no longer is.
    const lastLook = recordedMs + DAY * 1000 - 1;
    expect(liveBucketStarts(lastLook, DAY)).toContain(bucket);
    const expiredMs = bucketExpiresAt(bucket, DAY) * 1000;
    expect(liveBucketStarts(expiredMs, DAY)).not.toContain(bucket);
    expect(liveBucketStarts(expiredMs - 1000, DAY)).toContain(bucket);
    // Newest first, one bucket apart, 25 or 26 of them for a day of hourly buckets.
    const starts = liveBucketStarts(lastLook, DAY);
    expect(starts.length).toBeGreaterThanOrEqual(25);
    expect(starts.length).toBeLessThanOrEqual(26);
    starts.slice(1).forEach((start, i) => expect((starts[i] ?? 0) - start).toBe(3600));
  });
});
