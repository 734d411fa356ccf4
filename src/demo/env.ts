/** Reading the demo's environment variables: one place for defaults and the one-line errors. */
import type { RedisOptions } from 'ioredis';

/** Thrown for a malformed variable; entry points print the message and exit 78 (EX_CONFIG). */
export class DemoEnvError extends Error {
  override readonly name = 'DemoEnvError';
}

/** A whole number ≥ `min` from `name`, or `fallback` when unset or empty. */
export function intFromEnv(name: string, fallback: number, min = 0, env = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new DemoEnvError(`${name} must be a whole number ≥ ${min}, got "${raw}"`);
  }
  return value;
}

/** True for 1 / true / yes. */
export function flagFromEnv(name: string, env = process.env): boolean {
  return /^(1|true|yes)$/i.test(env[name]?.trim() ?? '');
}

/** Where the demo's Redis is. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly password: string;
}

/** REDIS_HOST / REDIS_PORT / REDIS_DB / REDIS_PASSWORD, as the service reads them. */
export function redisTargetFromEnv(env = process.env): RedisTarget {
  return {
    host: env.REDIS_HOST?.trim() || '127.0.0.1',
    port: intFromEnv('REDIS_PORT', 6379, 1, env),
    db: intFromEnv('REDIS_DB', 0, 0, env),
    password: env.REDIS_PASSWORD ?? '',
  };
}

/** ioredis options for the demo's own connections; `blocking` for BLPOP. */
export function demoRedisOptions(target: RedisTarget, blocking: boolean): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.password ? { password: target.password } : {}),
    maxRetriesPerRequest: blocking ? null : 3,
    retryStrategy: (times) => Math.min(250 * times, 5000),
  };
}
