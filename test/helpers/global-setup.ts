import { execFileSync } from 'node:child_process';
import { prepareDevEnvironment } from '../../src/dev/dev-environment.js';
import { DevSetupError, EXIT_UNAVAILABLE } from '../../src/dev/errors.js';

/**
 * Checks Chromium and Redis; with no Redis at a loopback REDIS_HOST, starts a private one and sets
 * REDIS_HOST / REDIS_PORT, which the test workers and the processes they start inherit. Then builds
 * `dist/` once: integration tests start the service exactly as `npm start` and Docker do.
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
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  } catch (err) {
    await dev.close();
    throw err;
  }
  return () => dev.close();
}
