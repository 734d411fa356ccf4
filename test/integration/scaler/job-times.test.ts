import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobTimes, median } from '../../../src/capacity/job-times.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';

describe('JobTimes (rolling median in Redis, shared by instances)', () => {
  let redis: Redis;
  const prefix = uniqueName('jobms');

  beforeAll(() => {
    const { host, port } = sharedRedisConfig();
    redis = new Redis({ host, port, lazyConnect: false });
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
  });

  it('median of an odd and an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('keeps the last `keep` durations; another instance reading the same key sees the same median', async () => {
    const a = new JobTimes(redis, 5, prefix);
    let at = 1_000_000;
    for (const ms of [100, 200, 300, 400, 500, 9000, 9000, 9000]) await a.record('conferencia', ms, (at += 1000));
    // An entry written before finish times were kept counts for the median only.
    await redis.lpush(a.key('conferencia'), '9000');
    const other = new Redis(sharedRedisConfig());
    try {
      const b = new JobTimes(other, 5, prefix);
      // Kept: 9000 (bare), 9000, 9000, 9000, 500.
      expect(await b.sample(['conferencia', 'emissao'])).toEqual({
        conferencia: {
          seconds: 9,
          samples: 5,
          finished: [
            { at: 1_008_000, ms: 9000 },
            { at: 1_007_000, ms: 9000 },
            { at: 1_006_000, ms: 9000 },
            { at: 1_005_000, ms: 500 },
          ],
        },
      });
    } finally {
      other.disconnect();
    }
  });
});
