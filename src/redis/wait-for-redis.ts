import type { Redis } from 'ioredis';
import type { RedisConfig } from '../config/types.js';
import { sleep } from '../lib/sleep.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { describeRedis, sayRefusal } from './connection.js';
import { isStartupFatal, RedisRefusedError, refusalOf, type Refusal } from './refusal.js';

/** Options for {@link waitForRedis}. */
export interface WaitForRedisOptions {
  /** The connection's settings: where it goes (for the waiting line) and how refusals read. */
  readonly config: RedisConfig;
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
 * `noticeEveryMs`) and, when it had to wait, how long it took. Rejects with a
 * {@link RedisRefusedError} (a configuration error: exit 78) when Redis refuses the user or
 * password, or TLS refuses a certificate: waiting would never end. The line is logged once (here
 * or by the connection's watcher); the error carries the same line, for the exit.
 */
export async function waitForRedis(redis: Redis, options: WaitForRedisOptions): Promise<void> {
  const { config, logger, signal } = options;
  const where = describeRedis(config);
  const since = Date.now();
  let lastNotice = 0;
  let refused: Refusal | undefined;
  const onError = (err: Error): void => {
    const refusal = refusalOf(err, config);
    if (refusal && isStartupFatal(refusal)) refused = refusal;
  };
  redis.on('error', onError);
  try {
    while (!signal.aborted) {
      try {
        await untilAborted(redis.ping(), signal);
        if (lastNotice > 0) logger.info(`Redis em ${where} respondeu após ${Math.round((Date.now() - since) / 1000)}s`);
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Error) onError(err);
        if (refused) throw refusedError(logger, refused);
        if (Date.now() - lastNotice >= (options.noticeEveryMs ?? 15_000)) {
          logger.warn(
            `aguardando o Redis em ${where} antes de iniciar workers e ponte (inicie-o ou ajuste REDIS_URL / REDIS_HOST / REDIS_PORT)`,
          );
          lastNotice = Date.now();
        }
        await sleep(options.retryMs ?? 1000, signal);
        if (refused) throw refusedError(logger, refused);
      }
    }
  } finally {
    redis.off('error', onError);
  }
}

function refusedError(logger: Logger, refusal: Refusal): RedisRefusedError {
  sayRefusal(logger, refusal);
  return new RedisRefusedError(refusal);
}
