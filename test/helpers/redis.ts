import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../../src/config/types.js';
import { spareLoopbackPort } from '../../src/dev/private-redis.js';

/** A plain host/port {@link RedisConfig}: also usable as ioredis options by spreading it. */
export type PlainRedisConfig = Pick<RedisConfig, 'host' | 'port' | 'db' | 'password' | 'prefix'>;

/** The shared test Redis (REDIS_HOST / REDIS_PORT, default 127.0.0.1:6379). */
export function sharedRedisConfig(overrides: Partial<PlainRedisConfig> = {}): PlainRedisConfig {
  return {
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: Number(process.env.REDIS_PORT ?? 6379),
    db: 0,
    password: '',
    prefix: 'bull',
    ...overrides,
  };
}

/**
 * Databases of the shared Redis that tests use as a whole (the seed's fixed `fila:conferencia`
 * names, or every key of a database read back), one per test file so files running at the same
 * time never meet. The demo test takes an empty one of {@link DEMO_DBS}, which no file here uses.
 */
export const TEST_DBS = {
  scaling: 2,
  workerKilled: 3,
  multiInstance: 4, // three-instances and bridge-takeover: each with its own random prefix
  kubernetes: 5,
  poolHistory: 6,
  capacityService: 7,
  rateLimit: 12, // these three with a random key prefix
  capacityDefault: 13,
  kneePortal: 14,
} as const;

/** Where the demo test looks for an empty database (none of {@link TEST_DBS}). */
export const DEMO_DBS: readonly number[] = [9, 10, 11, 15, 8];

/** A connection to database `db` of the shared test Redis. */
export function testRedis(db: number): Redis {
  const { host, port } = sharedRedisConfig();
  return new Redis({ host, port, db });
}

/** A random name for test queues and lists, so tests never see each other's keys. */
export function uniqueName(tag = 't'): string {
  return `${tag}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key matching `pattern` (SCAN, not KEYS). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/** A free TCP port on loopback. */
export const freePort = spareLoopbackPort;

/** A private redis-server on a spare port, for tests that stop or break Redis. */
export class PrivateRedis {
  #child: ChildProcess | undefined;
  /** `dataDir`: keep data across stop/start (AOF, fsync always) in that folder; else none is kept. */
  constructor(
    readonly port: number,
    readonly dataDir?: string,
  ) {}

  static async create(options: { dataDir?: string } = {}): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort(), options.dataDir);
  }

  async start(): Promise<void> {
    const persistence = this.dataDir
      ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dataDir]
      : ['--appendonly', 'no'];
    this.#child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence],
      {
        stdio: 'ignore',
      },
    );
    const client = new Redis({
      port: this.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    for (let i = 0; i < 200; i++) {
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    client.disconnect();
    throw new Error(`private redis-server on port ${this.port} did not start`);
  }

  /** SIGSTOP: connections stay open and every command hangs (a network partition, as a client sees it). */
  pause(): void {
    if (this.#child?.pid !== undefined) process.kill(this.#child.pid, 'SIGSTOP');
  }

  /** SIGCONT after {@link pause}: Redis runs what was sent meanwhile. */
  resume(): void {
    if (this.#child?.pid !== undefined) process.kill(this.#child.pid, 'SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.#child = undefined;
  }
}
