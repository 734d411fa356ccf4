import fs from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig, RedisTlsConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import { refusalOf, type Refusal } from './refusal.js';

/** What a connection is for: BullMQ workers and blocking commands need `maxRetriesPerRequest: null`. */
export type ConnectionRole = 'command' | 'blocking';

/** Where the connections go, for log lines: `host:port`, or the master's name and its sentinels; `(TLS)` when on. */
export function describeRedis(config: RedisConfig): string {
  const sentinels = config.sentinels ?? [];
  const where =
    sentinels.length > 0
      ? `master '${config.sentinelName ?? ''}' via sentinelas ${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`
      : `${config.host}:${config.port}`;
  return config.tls ? `${where} (TLS)` : where;
}

/** Node TLS options from the settings; the files are read now (each new connection re-reads them: rotation works). */
export function tlsOptions(tls: RedisTlsConfig): ConnectionOptions {
  return {
    ...(tls.caFile ? { ca: fs.readFileSync(tls.caFile) } : {}),
    ...(tls.certFile ? { cert: fs.readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: fs.readFileSync(tls.keyFile) } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
    rejectUnauthorized: tls.verify,
  };
}

/**
 * Options shared by every connection of the service (ioredis): the one place that turns the
 * settings (URL, user, TLS, Sentinel) into a connection. Every Redis client of `src/` and
 * `bench/` is made from it, directly or through {@link createRedis}.
 */
export function redisOptions(config: RedisConfig, role: ConnectionRole): RedisOptions {
  const tls = config.tls ? tlsOptions(config.tls) : undefined;
  const sentinels = config.sentinels ?? [];
  const common: RedisOptions = {
    db: config.db,
    ...(config.username ? { username: config.username } : {}),
    ...(config.password ? { password: config.password } : {}),
    ...(tls ? { tls } : {}),
    // Blocking connections (BullMQ Workers, BLMOVE) must wait for Redis forever; command
    // connections fail a request after a few retries so callers see the outage.
    maxRetriesPerRequest: role === 'blocking' ? null : 3,
    enableOfflineQueue: true,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(250 * times, 5000),
    // A failover leaves a connection on a demoted master: its writes come back READONLY (not
    // run), so reconnecting (Sentinel asks for the new master) and resending is safe.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  if (sentinels.length === 0) return { ...common, host: config.host, port: config.port };
  return {
    ...common,
    sentinels: sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: config.sentinelName ?? '',
    role: 'master',
    ...(config.sentinelPassword ? { sentinelPassword: config.sentinelPassword } : {}),
    ...(tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls } : {}),
    // All sentinels unreachable: try again, at most every 2 s (ioredis logs nothing itself).
    sentinelRetryStrategy: (times) => Math.min(100 * times, 2000),
  };
}

/**
 * The one place connections are made. Each connection logs connect, loss and reconnect once per
 * change, never a stack trace per retry.
 */
export function createRedis(config: RedisConfig, role: ConnectionRole, logger: Logger, name: string): Redis {
  const redis = new Redis({ ...redisOptions(config, role), connectionName: name });
  watchConnection(redis, logger, config, name);
  return redis;
}

/**
 * Refusals (wrong user or password, an untrusted certificate) said once per process and cause,
 * whatever the number of connections: a wrong password is one line, not one per connection and
 * retry. Cleared when a connection gets through again.
 */
const saidRefusals = new Set<string>();

/** Logs a refusal's line unless this process said it already (since the last connection that got through). */
export function sayRefusal(logger: Logger, refusal: Refusal, fields: Record<string, unknown> = {}): void {
  if (!saidRefusals.has(refusal.line)) logger.error(refusal.line, fields);
  saidRefusals.add(refusal.line);
}

/** Attaches readable connect / lost / reconnect lines to a connection (also for BullMQ-owned ones). */
export function watchConnection(redis: Redis, logger: Logger, config: RedisConfig, name: string): void {
  const address = describeRedis(config);
  let everReady = false;
  let down = false;
  let lastError = '';
  redis.on('ready', () => {
    if (!everReady) logger.debug(`conexão Redis '${name}' pronta em ${address}`);
    else logger.info(`conexão Redis '${name}' restabelecida em ${address}`);
    everReady = true;
    down = false;
    lastError = ''; // the next outage is news again
    saidRefusals.clear();
  });
  redis.on('error', (err: Error) => {
    const refusal = refusalOf(err, config);
    if (refusal) {
      sayRefusal(logger, refusal, { connection: name });
      down = true;
      lastError = refusal.line;
      return;
    }
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
