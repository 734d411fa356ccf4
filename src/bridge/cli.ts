/**
 * Runs only the bridge, configured from the environment (for tests and one-off recoveries):
 *
 *     BRIDGE_QUEUES=conferencia,emissao BRIDGE_ID=host-a node dist/bridge/cli.js
 *
 * | variable | meaning | default |
 * | --- | --- | --- |
 * | `REDIS_HOST` / `REDIS_PORT` / `REDIS_DB` / `REDIS_PASSWORD` | Redis | `127.0.0.1` / `6379` / `0` / empty |
 * | `REDIS_PREFIX` | BullMQ key prefix | `bull` |
 * | `BRIDGE_QUEUES` | comma-separated queue names; source list `fila:<name>` | `conferencia,emissao` |
 * | `BRIDGE_ID` | owner of the processing lists | host name |
 * | `BRIDGE_BATCH_SIZE` / `BRIDGE_MAX_ITEM_BYTES` / `BRIDGE_MAX_WAITING` / `BRIDGE_BLOCK_SECONDS` | bridge settings | `500` / `1048576` / `0` / `5` |
 * | `JOB_ATTEMPTS` / `JOB_BACKOFF_MS` | job options | `3` / `5000` |
 * | `LOG_LEVEL` | winston level | `info` |
 *
 * SIGTERM / SIGINT close the bridge (the batch in hand is finished) and exit 0.
 */
import os from 'node:os';
import { Bridge } from './bridge.js';
import type { QueueConfig } from '../config/types.js';
import { createLogger, flushLogger } from '../logging/logger.js';

function intFromEnv(name: string, fallback: number, min: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    process.stderr.write(`${name}=${text}: expected an integer >= ${min}\n`);
    process.exit(78);
  }
  return value;
}

const names = (process.env.BRIDGE_QUEUES ?? 'conferencia,emissao')
  .split(',')
  .map((name) => name.trim())
  .filter((name) => name !== '');
const attempts = intFromEnv('JOB_ATTEMPTS', 3, 1);
const backoffMs = intFromEnv('JOB_BACKOFF_MS', 5000, 0);
const queues: QueueConfig[] = names.map((name) => ({
  name,
  flow: name,
  sourceList: `fila:${name}`,
  resultList: 'fila:resultado',
  invalidList: `fila:${name}:invalid`,
  jobsPerWorker: 50,
  minWorkers: 0,
  maxWorkers: 10,
  attempts,
  backoffMs,
  timeoutSeconds: 300,
}));

const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'info', file: '', format: 'text' });
const bridge = new Bridge({
  queues,
  redis: {
    host: process.env.REDIS_HOST ?? '127.0.0.1',
    port: intFromEnv('REDIS_PORT', 6379, 1),
    db: intFromEnv('REDIS_DB', 0, 0),
    password: process.env.REDIS_PASSWORD ?? '',
    prefix: process.env.REDIS_PREFIX ?? 'bull',
  },
  bridge: {
    batchSize: intFromEnv('BRIDGE_BATCH_SIZE', 500, 1),
    maxItemBytes: intFromEnv('BRIDGE_MAX_ITEM_BYTES', 1_048_576, 1),
    maxWaiting: intFromEnv('BRIDGE_MAX_WAITING', 0, 0),
    blockSeconds: intFromEnv('BRIDGE_BLOCK_SECONDS', 5, 1),
    id: process.env.BRIDGE_ID || os.hostname(),
  },
  jobs: {
    attempts,
    backoffMs,
    timeoutSeconds: 300,
    keepCompletedSeconds: intFromEnv('JOB_KEEP_COMPLETED_SECONDS', 86_400, 0),
    keepFailedSeconds: intFromEnv('JOB_KEEP_FAILED_SECONDS', 604_800, 0),
    lockSeconds: 30,
  },
  logger,
  ...(process.env.BRIDGE_ID ? { bridgeId: process.env.BRIDGE_ID } : {}),
});

async function shutdown(signal: string): Promise<void> {
  logger.info(`${signal}: closing the bridge`);
  await bridge.close();
  await flushLogger(logger);
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

await bridge.start();
