import { describe, expect, it } from 'vitest';
import { prepareDevEnvironment } from '../../../src/dev/dev-environment.js';

describe('prepareDevEnvironment with a Redis named by REDIS_URL or Sentinel', () => {
  it('starts no private Redis and leaves the variables alone (the URL would win over them anyway)', async () => {
    for (const named of [{ REDIS_URL: 'redis://127.0.0.1:1/0' }, { REDIS_SENTINELS: '127.0.0.1:1' }]) {
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...named };
      const said: string[] = [];
      const dev = await prepareDevEnvironment({ purpose: 'test', say: (l) => said.push(l), env, needsChromium: false });
      expect(dev.privateRedis).toBeUndefined();
      expect(env.REDIS_HOST).toBeUndefined();
      expect(said).toEqual([]);
      await dev.close();
    }
  });
});
