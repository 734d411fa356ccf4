import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDbIsOurs } from '../../../src/demo/db-check.js';
import { DemoSetupError } from '../../../src/demo/preflight.js';
import { RedisServer } from '../../helpers/redis-servers.js';

describe("the demo's database check follows REDIS_PREFIX", () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await RedisServer.start(); // a database holding exactly the keys set here
    redis = new Redis({ port: server.port });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('accepts its own keys under another prefix, and refuses keys under the default one then', async () => {
    await redis.set('demo-px:conferencia:meta', '1');
    await redis.set('demo-px:rpa:decisions', '1');
    await redis.rpush('fila:conferencia', '{}');
    await redis.set('rpa:scaler:decisions', '1'); // left by a version before the prefix rule
    await expect(checkDbIsOurs(redis, 0, false, 'demo-px')).resolves.toBeUndefined();

    await redis.set('bull:conferencia:meta', '1'); // another deployment's, with the default prefix
    const err = await checkDbIsOurs(redis, 0, false, 'demo-px').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DemoSetupError);
    expect((err as Error).message).toContain('"bull:conferencia:meta"');
    await expect(checkDbIsOurs(redis, 0, false, 'bull')).rejects.toThrow(/"demo-px:/);
    await expect(checkDbIsOurs(redis, 0, true, 'demo-px')).resolves.toBeUndefined();
  });
});
