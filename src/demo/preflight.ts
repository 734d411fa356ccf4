/** Checks before the demo starts anything: Redis answers, the HTTP port is free. One line each when not. */
import net from 'node:net';
import { Redis } from 'ioredis';
import { describeRedis, redisOptions } from '../redis/connection.js';
import { refusalOf } from '../redis/refusal.js';
import type { RedisTarget } from './env.js';

/** Something the user must fix before the demo can run; the message is the one line to print. */
export class DemoSetupError extends Error {
  override readonly name = 'DemoSetupError';
}

/** Resolves when Redis answers PING; otherwise a {@link DemoSetupError} saying how to start one, or what it refused. */
export async function checkRedis(target: RedisTarget, timeoutMs = 3000): Promise<void> {
  const redis = new Redis({
    ...redisOptions(target, 'command'),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  let firstError: NodeJS.ErrnoException | undefined;
  redis.on('error', (err: NodeJS.ErrnoException) => (firstError ??= err));
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    // The connection's own error (ECONNREFUSED, ...) says more than "Connection is closed".
    const cause = firstError ?? (err as NodeJS.ErrnoException);
    const refusal = refusalOf(cause, target) ?? refusalOf(err as Error, target);
    if (refusal) throw new DemoSetupError(refusal.line);
    const reason = cause.code ?? cause.message;
    const where = describeRedis(target);
    if (/DB index/i.test(reason)) {
      throw new DemoSetupError(`Redis at ${where} refused the demo (${reason}). Check REDIS_DB / DEMO_REDIS_DB.`);
    }
    throw new DemoSetupError(
      `No Redis at ${where} (${reason}). Start one: redis-server --daemonize yes  (or: docker run -p 6379:6379 redis:7)`,
    );
  } finally {
    redis.disconnect();
  }
}

/** Rejects with a {@link DemoSetupError} when something already listens on `host:port`. */
export async function checkPortFree(host: string, port: number, hint: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new DemoSetupError(`Port ${port} on ${host} is not free (${err.code ?? err.message}). ${hint}`));
    });
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
