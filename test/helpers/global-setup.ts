import { execFileSync } from 'node:child_process';
import { prepareDevEnvironment } from '../../src/dev/dev-environment.js';
import { DevSetupError, EXIT_UNAVAILABLE } from '../../src/dev/errors.js';
import { describeLeaks, leakedKeys, snapshotKeys, type KeySnapshot } from './redis-leaks.js';

/**
 * Checks Chromium and Redis; with no Redis at a loopback REDIS_HOST, starts a private one and sets
 * REDIS_HOST / REDIS_PORT, which the test workers and the processes they start inherit. Then builds
 * `dist/` once: integration tests start the service exactly as `npm start` and Docker do.
 *
 * At the end it lists the keys the run left in that Redis (every database, before vs after; keys
 * expiring within a minute not counted). In a private Redis nothing else writes, so any is a test
 * that did not clean up: the run fails. In a Redis the suite shares (one that was already running),
 * other clients may write meanwhile: the keys are reported, and the run fails only with
 * TEST_REDIS_LEAKS=fail.
 */
export default async function setup(): Promise<() => Promise<void>> {
  let dev;
  try {
    dev = await prepareDevEnvironment({ purpose: 'npm test', say: (line) => console.log(line) });
  } catch (err) {
    if (!(err instanceof DevSetupError)) throw err;
    console.error(err.message);
    process.exit(EXIT_UNAVAILABLE);
  }
  const target = {
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.REDIS_PORT ?? 6379),
    password: process.env.REDIS_PASSWORD ?? '',
  };
  let before: KeySnapshot | undefined;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
    before = await snapshotKeys(target);
  } catch (err) {
    await dev.close();
    throw err;
  }
  const shared = dev.privateRedis === undefined;
  return async () => {
    try {
      const leaks = await leakedKeys(target, before ?? new Map(), await snapshotKeys(target));
      if (leaks.size > 0) {
        const lines = describeLeaks(leaks);
        console.error(`\nKeys the test run left in Redis ${target.host}:${target.port}:\n  ${lines.join('\n  ')}`);
        if (!shared || process.env.TEST_REDIS_LEAKS === 'fail') {
          process.exitCode = 1;
          throw new Error(`the test run left ${[...leaks.values()].flat().length} key(s) in Redis (listed above)`);
        }
      }
    } finally {
      await dev.close();
    }
  };
}
