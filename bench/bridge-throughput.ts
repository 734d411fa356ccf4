/**
 * Bridge throughput: how many items per second move from `fila:<queue>` into BullMQ jobs.
 *
 *     npx tsx bench/bridge-throughput.ts            # 50,000 items, 3 runs
 *     BENCH_ITEMS=10000 BENCH_RUNS=5 BENCH_BATCH_SIZE=100 npx tsx bench/bridge-throughput.ts
 *
 * Each run pushes the items (≈150-byte JSON objects, half with a payload `id`) into a fresh list,
 * starts a bridge and times until every item is a job (counted through `onMoved`, no polling).
 * Prints median, min and max; writes bench/results/bridge-throughput.json. Redis: the service's
 * settings (REDIS_URL or REDIS_HOST / REDIS_PORT, TLS, Sentinel; default 127.0.0.1:6379); keys are
 * random and deleted afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import winston from 'winston';
import { Bridge } from '../src/bridge/bridge.js';
import { loadConfig } from '../src/config/load.js';
import type { AppConfig } from '../src/config/types.js';
import { redisOptions } from '../src/redis/connection.js';
import { deleteKeys } from '../test/helpers/redis.js';

const items = Number(process.env.BENCH_ITEMS ?? 50_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? 500);
/** The service's configuration with one bench queue (`fila:<name>`), no back-pressure, this batch size. */
function benchConfig(name: string): AppConfig {
  return loadConfig({
    env: {
      NODE_ENV: 'development',
      REDIS_DB: '0',
      // Every Redis setting of the environment (REDIS_URL, TLS, Sentinel, ...), as the service reads them.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('REDIS_'))),
      BRIDGE_BATCH_SIZE: String(batchSize),
      BRIDGE_MAX_WAITING: '0',
      BRIDGE_ID: `bench-${name}`,
    },
    onlyQueues: [name],
  });
}
const redisConfig = benchConfig('bench').redis;
const logger = winston.createLogger({ level: 'error', transports: [new winston.transports.Console()] });

async function oneRun(redis: Redis): Promise<number> {
  const name = `bench-${randomUUID().slice(0, 8)}`;
  const config = benchConfig(name);
  const queue = config.queues[0];
  if (!queue) throw new Error('no bench queue');
  for (let i = 0; i < items; i += 5000) {
    const chunk = Array.from({ length: Math.min(5000, items - i) }, (_, j) => {
      const n = i + j;
      return JSON.stringify(
        n % 2 === 0
          ? { id: `doc-${n}`, cnpj: '12.345.678/0001-90', competencia: '2024-05', tipo: 'conferencia', n }
          : { cnpj: '98.765.432/0001-10', competencia: '2024-05', tipo: 'conferencia', valor: n * 1.5, n },
      );
    });
    await redis.rpush(queue.sourceList, ...chunk);
  }

  let moved = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const bridge = new Bridge({
    queues: [queue],
    redis: config.redis,
    bridge: config.bridge,
    jobs: config.jobs,
    logger,
    bridgeId: config.bridge.id,
    onMoved: (_queue, count) => {
      moved += count;
      if (moved >= items) done();
    },
  });
  const started = process.hrtime.bigint();
  await bridge.start();
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await bridge.close();

  const check = new Queue(name, { connection: redis, prefix: redisConfig.prefix });
  // Bridged jobs always carry a priority: they wait in the prioritized set.
  const waiting = await check.getJobCountByTypes('waiting', 'prioritized');
  await check.close();
  if (waiting !== items) throw new Error(`expected ${items} waiting jobs, found ${waiting}`);
  await deleteKeys(redis, `fila:${name}*`);
  await deleteKeys(redis, `${redisConfig.prefix}:${name}:*`);
  return items / seconds;
}

const redis = new Redis(redisOptions(redisConfig, 'blocking'));
const rates: number[] = [];
for (let run = 1; run <= runs; run++) {
  const rate = await oneRun(redis);
  rates.push(rate);
  console.log(`run ${run}/${runs}: ${Math.round(rate)} items/s`);
}
redis.disconnect();

const sorted = [...rates].sort((a, b) => a - b);
const result = {
  benchmark: 'bridge-throughput',
  items,
  runs,
  batchSize,
  medianItemsPerSecond: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
  minItemsPerSecond: Math.round(sorted[0] ?? 0),
  maxItemsPerSecond: Math.round(sorted[sorted.length - 1] ?? 0),
  cpus: os.cpus().length,
  node: process.version,
  at: new Date().toISOString(),
};
console.table([result]);
const out = path.resolve('bench/results/bridge-throughput.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`written to ${path.relative(process.cwd(), out)}`);
