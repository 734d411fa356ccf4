import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import winston from 'winston';
import { loadConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/types.js';
import type { Logger } from '../../src/logging/logger.js';
import { redisOptions } from '../../src/redis/connection.js';
import { Service } from '../../src/service/service.js';
import { PrivateRedis } from '../../test/helpers/redis.js';

/** What every benchmark gets from the runner. */
export interface BenchContext {
  /** Fewer items and one run per figure: a smoke run, labelled as such in the output. */
  readonly quick: boolean;
  /** Runs per figure (3 unless BENCH_RUNS says otherwise; 1 in quick mode). */
  readonly runs: number;
  readonly redisPort: number;
  /** A client of the private Redis. */
  readonly redis: Redis;
  readonly logger: Logger;
  /** Scratch folder removed at the end. */
  readonly tmpDir: string;
  /** Empties the private Redis between runs. */
  flush(): Promise<void>;
  /** A service config: config/development.json, then `overrides`, on the private Redis, HTTP off. */
  config(overrides: Record<string, unknown>, env?: Record<string, string>): AppConfig;
}

export interface OpenedContext extends BenchContext {
  close(): Promise<void>;
}

/** Starts a private redis-server on a spare port (no one else's load in it, none of ours in theirs). */
export async function openContext(options: { quick: boolean; runs: number }): Promise<OpenedContext> {
  const server = await PrivateRedis.create();
  await server.start();
  const redis = new Redis(
    redisOptions({ host: '127.0.0.1', port: server.port, db: 0, password: '', prefix: 'bull' }, 'blocking'),
  );
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpa-bench-'));
  const logger = winston.createLogger({
    level: process.env.BENCH_LOG_LEVEL ?? 'error',
    format: winston.format.combine(winston.format.timestamp(), winston.format.simple()),
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
  let seq = 0;
  return {
    ...options,
    redisPort: server.port,
    redis,
    logger,
    tmpDir,
    flush: async () => void (await redis.flushdb()),
    config(overrides, env = {}) {
      seq += 1;
      const file = path.join(tmpDir, `config-${seq}.json`);
      fs.writeFileSync(
        file,
        JSON.stringify({
          http: { enabled: false },
          log: { file: '', level: process.env.BENCH_LOG_LEVEL ?? 'error' },
          artifactsDir: path.join(tmpDir, 'artifacts'),
          bridge: { id: 'bench' },
          ...overrides,
        }),
      );
      return loadConfig({
        env: {
          NODE_ENV: 'development',
          CONFIG_FILE: file,
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(server.port),
          ...(process.env.BROWSER_EXECUTABLE_PATH
            ? { BROWSER_EXECUTABLE_PATH: process.env.BROWSER_EXECUTABLE_PATH }
            : {}),
          ...env,
        },
      });
    },
    async close() {
      redis.disconnect();
      await server.stop();
      fs.rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}

/** Starts a service and waits until `queue` has `ready` units (ready or busy). */
export async function startService(
  ctx: BenchContext,
  config: AppConfig,
  ready: Readonly<Record<string, number>> = {},
  timeoutMs = 60_000,
): Promise<Service> {
  const service = new Service({ config, logger: ctx.logger });
  await service.start();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pool = service.pool;
    const done =
      pool !== undefined &&
      Object.entries(ready).every(([queue, n]) => {
        const c = pool.counts(queue);
        return c.ready + c.busy >= n;
      });
    if (done) return service;
    if (Date.now() > deadline) {
      await service.stop();
      throw new Error(`workers not ready after ${timeoutMs} ms: ${JSON.stringify(ready)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when `count` jobs finished with outcome ok or error (not retry); the time it happened. */
export function whenFinished(service: Service, count: number): Promise<number> {
  return new Promise((resolve) => {
    let seen = 0;
    const onFinished = (info: { outcome: string }): void => {
      if (info.outcome === 'retry') return;
      seen += 1;
      if (seen >= count) {
        service.events.off('job-finished', onFinished);
        resolve(performance.now());
      }
    };
    service.events.on('job-finished', onFinished);
  });
}

/** RPUSHes items in chunks (one round trip per 1,000). */
export async function pushItems(redis: Redis, list: string, items: readonly string[]): Promise<void> {
  for (let i = 0; i < items.length; i += 1000) await redis.rpush(list, ...items.slice(i, i + 1000));
}
