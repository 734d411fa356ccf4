/**
 * What `npm run demo` and the test suite's global setup do first on a developer's machine: check
 * that Chromium is there and that a Redis answers; when none answers at a loopback REDIS_HOST,
 * start a private one and point REDIS_HOST / REDIS_PORT at it. With Redis running, nothing changes.
 * The service (`npm start`, Docker) never uses this: there a missing Redis is an error to report.
 */
import { DevSetupError, EXIT_UNAVAILABLE } from './errors.js';
import { findChromium, findOnPath, MissingBinaryError, type MissingBinary } from './prerequisites.js';
import { isLoopback, redisAnswers, startPrivateRedis, type PrivateRedis } from './private-redis.js';

/** Options for {@link prepareDevEnvironment}. */
export interface DevEnvironmentOptions {
  /** Who needs it, for the messages: `npm run demo`, `npm test`. */
  readonly purpose: string;
  /** Where one line is said when a private Redis starts. */
  readonly say: (line: string) => void;
  /** Read for REDIS_HOST / REDIS_PORT / REDIS_PASSWORD / PATH; updated to the private Redis. @defaultValue process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Check for Chromium too. @defaultValue true */
  readonly needsChromium?: boolean;
}

/** What {@link prepareDevEnvironment} set up; `close()` undoes it (safe to call twice). */
export interface DevEnvironment {
  /** The private Redis, when one was started. */
  readonly privateRedis: PrivateRedis | undefined;
  close(): Promise<void>;
}

/**
 * Checks the prerequisites and starts a private Redis when needed (see the module comment).
 * Throws a {@link DevSetupError} (a {@link MissingBinaryError} naming what to install) when the
 * demo or the tests cannot run here.
 */
export async function prepareDevEnvironment(options: DevEnvironmentOptions): Promise<DevEnvironment> {
  const env = options.env ?? process.env;
  const missing: MissingBinary[] = [];
  if (options.needsChromium ?? true) {
    const found = findChromium(env);
    if (!('path' in found)) missing.push(found);
  }

  const host = env.REDIS_HOST?.trim() || '127.0.0.1';
  const port = Number(env.REDIS_PORT?.trim() || 6379);
  const where = `${host}:${port}`;
  // A malformed port is left to the entry point's own check (one line, exit 78). REDIS_URL or
  // Sentinel name a Redis of their own (and win over REDIS_HOST / REDIS_PORT): none is started then.
  const configured = Boolean(env.REDIS_URL?.trim() || env.REDIS_SENTINELS?.trim());
  const wanted = !configured && Number.isSafeInteger(port) && port > 0 && port < 65536 && isLoopback(host);
  const needsPrivate = wanted && !(await redisAnswers(host, port));
  const redisServer = needsPrivate ? findOnPath('redis-server', env.PATH) : undefined;
  if (needsPrivate && !redisServer) {
    missing.unshift({ binary: 'redis-server', lookedFor: `no Redis answers at ${where} and none is on PATH` });
  }
  if (missing.length > 0) throw new MissingBinaryError(options.purpose, missing);
  if (!redisServer) return { privateRedis: undefined, close: () => Promise.resolve() };

  const redis = await startPrivateRedis({ redisServer, password: env.REDIS_PASSWORD ?? '' });
  env.REDIS_HOST = redis.host;
  env.REDIS_PORT = String(redis.port);
  options.say(
    `No Redis answers at ${where}: started a private one for ${options.purpose} on ${redis.host}:${redis.port} ` +
      `(no persistence, folder ${redis.dir}, removed on exit)`,
  );
  return { privateRedis: redis, close: () => redis.stop() };
}

/**
 * For entry points: runs `main` after {@link prepareDevEnvironment} and cleans up after it, however
 * it ends. A {@link DevSetupError} is printed as its one line and gives exit code 69, no stack.
 */
export async function runInDevEnvironment(
  options: DevEnvironmentOptions,
  main: () => Promise<number>,
): Promise<number> {
  let dev: DevEnvironment;
  try {
    dev = await prepareDevEnvironment(options);
  } catch (err) {
    if (!(err instanceof DevSetupError)) throw err;
    console.error(err.message);
    return EXIT_UNAVAILABLE;
  }
  try {
    return await main();
  } finally {
    await dev.close();
  }
}
