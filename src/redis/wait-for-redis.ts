import type { Redis } from 'ioredis';
import { sleep } from '../lib/sleep.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';

/** Options for {@link waitForRedis}. */
export interface WaitForRedisOptions {
  /** Shown in the waiting line, e.g. `127.0.0.1:6379`. */
  readonly where: string;
  readonly logger: Logger;
  /** Ends the wait (without throwing) when aborted. */
  readonly signal: AbortSignal;
  /** Between two PINGs. @defaultValue 1000 */
  readonly retryMs?: number;
  /** Between two "waiting" lines. @defaultValue 15000 */
  readonly noticeEveryMs?: number;
}

/**
 * Resolves once `redis` answers a PING, or when `signal` aborts. Says it waits (every
 * `noticeEveryMs`) and, when it had to wait, how long it took.
 */
export async function waitForRedis(redis: Redis, options: WaitForRedisOptions): Promise<void> {
  const { where, logger, signal } = options;
  const since = Date.now();
  let lastNotice = 0;
  while (!signal.aborted) {
    try {
      await untilAborted(redis.ping(), signal);
      if (lastNotice > 0) logger.info(`Redis em ${where} respondeu após ${Math.round((Date.now() - since) / 1000)}s`);
      return;
    } catch {
      if (signal.aborted) return;
      if (Date.now() - lastNotice >= (options.noticeEveryMs ?? 15_000)) {
        logger.warn(
          `aguardando o Redis em ${where} antes de iniciar workers e ponte (inicie-o ou ajuste REDIS_HOST/REDIS_PORT)`,
        );
        lastNotice = Date.now();
      }
      await sleep(options.retryMs ?? 1000, signal);
    }
  }
}
