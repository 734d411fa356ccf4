/** The demo's guard for the Redis database it is pointed at: it must hold nothing but rpa-pool's keys. */
import type { Redis } from 'ioredis';
import { DemoSetupError } from './preflight.js';

/**
 * Key patterns the service and the demo own under key prefix `prefix` (REDIS_PREFIX): everything
 * under `<prefix>:` (BullMQ's queues, the pool, `<prefix>:rpa:*`), the poller's and writer's
 * lists (`fila:*`), and the `rpa:scaler:*` keys that versions before the prefix rule wrote.
 */
export function ownKeyPatterns(prefix: string): RegExp[] {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [new RegExp(`^${escaped}:`), /^fila:/, /^rpa:scaler:/];
}

/** Up to `limit` keys of the database that are not rpa-pool's, and how many keys it holds in all. */
export async function otherKeys(
  redis: Redis,
  own: readonly RegExp[],
  limit = 3,
): Promise<{ total: number; samples: string[] }> {
  const total = await redis.dbsize();
  const samples: string[] = [];
  if (total === 0) return { total, samples };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (!own.some((re) => re.test(key))) samples.push(key);
      if (samples.length >= limit) return { total, samples };
    }
  } while (cursor !== '0');
  return { total, samples };
}

/**
 * Throws a {@link DemoSetupError} when database `db` holds keys that are not rpa-pool's under key
 * prefix `prefix` (someone else's data: the demo pushes jobs and drains `fila:resultado` there),
 * unless `allow`.
 */
export async function checkDbIsOurs(redis: Redis, db: number, allow: boolean, prefix: string): Promise<void> {
  if (allow) return;
  const { total, samples } = await otherKeys(redis, ownKeyPatterns(prefix));
  if (samples.length === 0) return;
  throw new DemoSetupError(
    `Redis db ${db} holds other data (${total} keys, e.g. ${samples.map((k) => JSON.stringify(k)).join(', ')}). ` +
      `Pick an empty one (REDIS_DB=<n>) or run anyway with DEMO_ALLOW_OTHER_DATA=1 (or: npm run demo -- --allow-other-data).`,
  );
}
