/** Reading the demo's environment variables: one place for defaults and the one-line errors. */
import path from 'node:path';
import type { RedisOptions } from 'ioredis';
import { DEFAULT_CONFIG_DIR, loadConfig } from '../config/load.js';
import type { AppConfig, RedisConfig } from '../config/types.js';
import { describeRedis, redisOptions } from '../redis/connection.js';
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

/** Where the demo's Redis is, with every connection setting (URL, user, TLS, Sentinel). */
export type RedisTarget = RedisConfig;

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

/** The Redis settings (REDIS_URL or REDIS_HOST / ..., TLS, Sentinel), read as the service reads them. */
export function redisTargetFromEnv(env = process.env): RedisTarget {
  return demoConfig(env).redis;
}

/** ioredis options for the demo's own connections (the service's builder); `blocking` for BLPOP. */
export function demoRedisOptions(target: RedisTarget, blocking: boolean): RedisOptions {
  return redisOptions(target, blocking ? 'blocking' : 'command');
}

/** Where the demo's Redis is, for its lines. */
export function describeTarget(target: RedisTarget): string {
  return describeRedis(target);
}

/**
 * The variables that give a child service exactly `target` (REDIS_URL removed: its parts are
 * spelled out, so an overridden db cannot be overruled by the URL's).
 */
export function redisEnv(target: RedisTarget, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of Object.keys(out)) {
    if (name.startsWith('REDIS_') && name !== 'REDIS_PREFIX' && name !== 'REDIS_SENTINEL_PASSWORD') delete out[name];
  }
  out.REDIS_HOST = target.host;
  out.REDIS_PORT = String(target.port);
  out.REDIS_DB = String(target.db);
  if (target.username) out.REDIS_USERNAME = target.username;
  if (target.password) out.REDIS_PASSWORD = target.password;
  if (target.tls) {
    out.REDIS_TLS = 'true';
    if (target.tls.caFile) out.REDIS_TLS_CA_FILE = target.tls.caFile;
    if (target.tls.certFile) out.REDIS_TLS_CERT_FILE = target.tls.certFile;
    if (target.tls.keyFile) out.REDIS_TLS_KEY_FILE = target.tls.keyFile;
    if (target.tls.servername) out.REDIS_TLS_SERVERNAME = target.tls.servername;
  }
  const sentinels = target.sentinels ?? [];
  if (sentinels.length > 0) {
    out.REDIS_SENTINELS = sentinels.map((s) => `${s.host}:${s.port}`).join(',');
    out.REDIS_SENTINEL_NAME = target.sentinelName ?? '';
  }
  return out;
}
