import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import winston from 'winston';
import { Bridge, type BridgeOptions } from '../../../src/bridge/bridge.js';
import type { AppConfig, QueueConfig } from '../../../src/config/types.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';

export function queueConfig(name: string): QueueConfig {
  return {
    name,
    flow: 'echo',
    sourceList: `fila:${name}`,
    resultList: `fila:${name}:resultado`,
    invalidList: `fila:${name}:invalid`,
    jobsPerWorker: 50,
    minWorkers: 0,
    maxWorkers: 10,
    attempts: 3,
    backoffMs: 1000,
    timeoutSeconds: 60,
  };
}

export const bridgeDefaults: AppConfig['bridge'] = {
  batchSize: 500,
  maxItemBytes: 1_048_576,
  maxBatchBytes: 8_388_608,
  oversizedMaxItems: 10,
  oversizedMaxBytes: 268_435_456,
  invalidMaxItems: 10_000,
  invalidMaxBytes: 67_108_864,
  maxWaiting: 0,
  blockSeconds: 1,
  id: 'test',
};
export const jobsDefaults: AppConfig['jobs'] = {
  attempts: 3,
  backoffMs: 1000,
  timeoutSeconds: 60,
  keepCompletedSeconds: 86_400,
  keepCompletedJobSeconds: 3_600,
  keepFailedSeconds: 604_800,
  lockSeconds: 30,
};

/** A logger that keeps its lines, so tests can check warnings. */
export function memoryLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = winston.createLogger({
    level: 'debug',
    transports: [
      new winston.transports.Console({
        silent: true,
      }),
    ],
  });
  logger.on('data', (info: { level: string; message: string }) => lines.push(`${info.level} ${info.message}`));
  return { logger, lines };
}

/** One test's world: a random queue name, a plain client, a BullMQ Queue to inspect, cleanup. */
export class BridgeWorld {
  readonly name = uniqueName('bridge');
  readonly queue = queueConfig(this.name);
  readonly redis = new Redis(sharedRedisConfig());
  readonly bull = new Queue(this.name, { connection: sharedRedisConfig() });
  readonly log = memoryLogger();
  readonly bridges: Bridge[] = [];

  bridge(overrides: Partial<BridgeOptions> = {}, bridgeSettings: Partial<AppConfig['bridge']> = {}): Bridge {
    const bridge = new Bridge({
      queues: [this.queue],
      redis: sharedRedisConfig(),
      bridge: { ...bridgeDefaults, ...bridgeSettings },
      jobs: jobsDefaults,
      logger: this.log.logger,
      bridgeId: `test-${this.name}`,
      ...overrides,
    });
    this.bridges.push(bridge);
    return bridge;
  }

  /** Job count across every state. */
  async jobCount(): Promise<number> {
    const counts = await this.bull.getJobCounts();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Job ids in the wait list, oldest first. */
  /** Waiting job ids in the order BullMQ runs them (bridged jobs are prioritized: `normal` by default). */
  async waitingIdsOldestFirst(): Promise<string[]> {
    const ids = await this.redis.lrange(`bull:${this.name}:wait`, 0, -1);
    const prioritized = await this.redis.zrange(`bull:${this.name}:prioritized`, 0, '-1');
    return [...ids.reverse(), ...prioritized];
  }

  async cleanup(): Promise<void> {
    for (const bridge of this.bridges) await bridge.close();
    await this.bull.obliterate({ force: true }).catch(() => undefined);
    await this.bull.close();
    await deleteKeys(this.redis, `fila:${this.name}*`);
    await deleteKeys(this.redis, `bull:${this.name}:*`);
    await deleteKeys(this.redis, `bull:rpa:*:${this.name}:*`);
    this.redis.disconnect();
  }
}

/** A bridge CLI (`dist/bridge/cli.js`, built by the global setup) run as a process of its own. */
export interface BridgeProcess {
  readonly process: ChildProcess;
  /** Everything it wrote to stdout and stderr, in order. */
  readonly output: string[];
  readonly exited: Promise<number | null>;
}

/**
 * Starts the bridge CLI on `world`'s queue with `env` on top (text logs at info). `BRIDGE_ID`
 * unset in `env` and in this process's environment: the CLI takes its own default.
 */
export function startBridgeProcess(world: BridgeWorld, env: Record<string, string>): BridgeProcess {
  const redis = sharedRedisConfig();
  const inherited = { ...process.env };
  delete inherited.BRIDGE_ID;
  const child = spawn(process.execPath, [path.resolve('dist/bridge/cli.js')], {
    env: {
      ...inherited,
      REDIS_HOST: redis.host,
      REDIS_PORT: String(redis.port),
      BRIDGE_QUEUES: world.name,
      BRIDGE_BLOCK_SECONDS: '1',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'text',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output, exited };
}

/** SIGKILLs `child` if it still runs (test cleanup). */
export async function killBridgeProcess(child: BridgeProcess | undefined): Promise<void> {
  if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGKILL');
  await child.exited;
}
