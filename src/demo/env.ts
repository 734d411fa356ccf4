/** Reading the demo's environment variables: one place for defaults and the one-line errors. */
import path from 'node:path';
import type { RedisOptions } from 'ioredis';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../config/load.js';
import type { AppConfig } from '../config/types.js';
import { ConfigError } from '../lib/errors.js';

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

/**
 * The configuration the demo's service runs with (`NODE_ENV=development` plus `config/demo.json`),
 * read by the service's own loader; a bad value is a {@link DemoEnvError}.
 */
export function demoConfig(env = process.env): AppConfig {
  try {
    return loadConfig({
      env: { ...env, NODE_ENV: 'development', CONFIG_FILE: path.join(DEFAULT_CONFIG_DIR, 'demo.json') },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new DemoEnvError(err.message);
    throw err;
  }
}

/** REDIS_HOST / REDIS_PORT / REDIS_DB / REDIS_PASSWORD, read as the service reads them. */
export function redisTargetFromEnv(env = process.env): RedisTarget {
  const { host, port, db, password } = demoConfig(env).redis;
  return { host, port, db, password };
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
