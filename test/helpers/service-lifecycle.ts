import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { PortalHandle } from '../../src/demo/portal/server.js';
import type { Service } from '../../src/service/service.js';
import { deleteKeys, testRedis } from './redis.js';

/** What a test file's tests share: its Redis database, and the service and portal a test starts. */
export interface ServiceTestContext {
  redis: Redis;
  service: Service | undefined;
  portal: PortalHandle | undefined;
}

/**
 * Registers the file's hooks: a connection to database `db` before all; after each test, the
 * service it started stopped, its portal closed and the keys matching `patterns` deleted; the
 * connection closed after all.
 */
export function serviceLifecycle(db: number, patterns: readonly string[]): ServiceTestContext {
  const ctx = { service: undefined, portal: undefined } as unknown as ServiceTestContext;
  beforeAll(() => {
    ctx.redis = testRedis(db);
  });
  afterEach(async () => {
    await ctx.service?.stop();
    ctx.service = undefined;
    await ctx.portal?.close();
    ctx.portal = undefined;
    for (const pattern of patterns) await deleteKeys(ctx.redis, pattern);
  });
  afterAll(() => ctx.redis.quit());
  return ctx;
}
