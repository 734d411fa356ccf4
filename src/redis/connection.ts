import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';

/** What a connection is for: BullMQ workers and blocking commands need `maxRetriesPerRequest: null`. */
export type ConnectionRole = 'command' | 'blocking';

/** Options shared by every connection of the service (ioredis). */
export function redisOptions(config: RedisConfig, role: ConnectionRole): RedisOptions {
  return {
    host: config.host,
    port: config.port,
    db: config.db,
    ...(config.password ? { password: config.password } : {}),
    // Blocking connections (BullMQ Workers, BLMOVE) must wait for Redis forever; command
    // connections fail a request after a few retries so callers see the outage.
    maxRetriesPerRequest: role === 'blocking' ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(250 * times, 5000),
    reconnectOnError: () => false,
  };
}

/**
 * The one place connections are made. Each connection logs connect, loss and reconnect once per
 * change, never a stack trace per retry.
 */
export function createRedis(config: RedisConfig, role: ConnectionRole, logger: Logger, name: string): Redis {
  const redis = new Redis({ ...redisOptions(config, role), connectionName: name });
  watchConnection(redis, logger, `${config.host}:${config.port}`, name);
  return redis;
}

/** Attaches readable connect / lost / reconnect lines to a connection (also for BullMQ-owned ones). */
export function watchConnection(redis: Redis, logger: Logger, address: string, name: string): void {
  let everReady = false;
  let down = false;
  let lastError = '';
  redis.on('ready', () => {
    if (!everReady) logger.debug(`conexão Redis '${name}' pronta em ${address}`);
    else logger.info(`conexão Redis '${name}' restabelecida em ${address}`);
    everReady = true;
    down = false;
    lastError = ''; // the next outage is news again
  });
  redis.on('error', (err: Error) => {
    const message = (err as NodeJS.ErrnoException).code ?? err.message;
    if (!down || message !== lastError) {
      logger.warn(`Redis inacessível em ${address} (${message}); tentando de novo`, { connection: name });
    }
    down = true;
    lastError = message;
  });
  // 'reconnecting' (not 'close'): a connection closed on purpose does not reconnect and is not news.
  redis.on('reconnecting', () => {
    if (everReady && !down) logger.warn(`conexão Redis '${name}' perdida; reconectando`);
    down = true;
  });
}
