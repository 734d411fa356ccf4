/**
 * Failover and the price of WAIT (README "Redis in production"). Each run starts its own
 * 1 master + 1 replica + 3 sentinels (test/helpers/redis-servers.ts) and measures:
 *
 * - the WAIT round trip: RPUSH alone vs RPUSH + WAIT 1 (what each result entry and each bridged
 *   batch pays with `redis.waitReplicas: 1`), 2,000 writes each through Sentinel;
 * - the service's echo throughput (no sleep, 4 units) with waitReplicas 0 and 1;
 * - a burst with the master SIGKILLed at 30 % of the results: ms from the kill to the first job
 *   that ran wholly on the new master, items lost and items duplicated (each with its reason).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { AppConfig } from '../src/config/types.js';
import { redisOptions } from '../src/redis/connection.js';
import { accountFor, drainResults, firstJobOnNewMasterMs, type TakenEntry } from '../test/helpers/failover.js';
import { SentinelGroup } from '../test/helpers/redis-servers.js';
import { waitFor } from '../test/helpers/wait.js';
import { pushItems, startService, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';

const WORKERS = 4;

function sentinelConfig(ctx: BenchContext, group: SentinelGroup, queue: string, waitReplicas: number): AppConfig {
  return ctx.config(
    {
      queues: {
        [queue]: { flow: 'echo', resultList: `fila:${queue}-resultado`, minWorkers: WORKERS, maxWorkers: WORKERS },
      },
      redis: { waitReplicas },
      scaler: { intervalSeconds: 1, stalledIntervalMs: 1000 },
      bridge: { batchSize: 50 },
      jobs: { lockSeconds: 3 },
      capacity: { enabled: false },
    },
    { REDIS_SENTINELS: group.addresses, REDIS_SENTINEL_NAME: SentinelGroup.NAME, REDIS_PREFIX: queue },
  );
}

/** Mean µs of `count` RPUSHes, each followed by WAIT 1 when `wait`. */
async function writeRoundTrip(client: Redis, count: number, wait: boolean): Promise<number> {
  const list = `bench-wait-${wait ? 'on' : 'off'}`;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await client.rpush(list, 'x');
    if (wait && (await client.wait(1, 1000)) < 1) throw new Error('the replica did not acknowledge');
  }
  const us = ((performance.now() - started) * 1000) / count;
  await client.del(list);
  return us;
}

/** Jobs per second of an echo burst of `items` through the service with `waitReplicas`. */
async function throughput(
  ctx: BenchContext,
  group: SentinelGroup,
  items: number,
  waitReplicas: number,
): Promise<number> {
  const queue = `bw${waitReplicas}`;
  const config = sentinelConfig(ctx, group, queue, waitReplicas);
  const client = new Redis(redisOptions(config.redis, 'command'));
  const service = await startService(ctx, config, { [queue]: WORKERS });
  try {
    const started = performance.now();
    await pushItems(
      client,
      `fila:${queue}`,
      Array.from({ length: items }, (_, i) => JSON.stringify({ id: `w-${i}` })),
    );
    await waitFor(async () => (await client.llen(`fila:${queue}-resultado`)) >= items, {
      timeoutMs: 300_000,
      intervalMs: 20,
      what: `${items} results`,
    });
    return items / ((performance.now() - started) / 1000);
  } finally {
    await service.stop();
    client.disconnect();
  }
}

interface FailoverRun {
  readonly firstJobMs: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly reasons: readonly string[];
}

/** A burst of `items` echo jobs (30 ms each); the master SIGKILLed at 30 % of the results. */
async function failoverRun(ctx: BenchContext, group: SentinelGroup, items: number): Promise<FailoverRun> {
  const queue = 'bfo';
  const resultList = `fila:${queue}-resultado`;
  const config = sentinelConfig(ctx, group, queue, 1);
  const client = new Redis(redisOptions(config.redis, 'command'));
  const writer = new Redis(redisOptions(config.redis, 'blocking'));
  for (const c of [client, writer]) c.on('error', () => undefined);
  const service = await startService(ctx, config, { [queue]: WORKERS });
  const taken: TakenEntry[] = [];
  const stop = new AbortController();
  const draining = drainResults(writer, resultList, taken, stop.signal);
  try {
    const ids = Array.from({ length: items }, (_, i) => `f-${i}`);
    await pushItems(
      client,
      `fila:${queue}`,
      ids.map((id) => JSON.stringify({ id, sleepMs: 30 })),
    );
    await client.wait(1, 5000);
    await waitFor(() => taken.length >= items * 0.3, { timeoutMs: 120_000, what: '30% of the results' });
    const killedAt = Date.now();
    await group.master.stop('SIGKILL');
    await waitFor(() => new Set(taken.map((e) => e.id)).size >= items, {
      timeoutMs: 120_000,
      what: `results of all ${items} items`,
    }).catch(() => undefined); // what is missing is counted as lost
    await waitFor(async () => (await client.llen(resultList)) === 0, { timeoutMs: 30_000 }).catch(() => undefined);
    stop.abort();
    await draining;
    const account = accountFor(ids, taken);
    return {
      firstJobMs: firstJobOnNewMasterMs(taken, killedAt + 20) ?? Number.NaN,
      lost: account.lost.length,
      duplicated: account.duplicates.length,
      reasons: account.duplicates.map((d) => `${d.id}: ${d.reason}`),
    };
  } finally {
    stop.abort();
    await draining;
    await service.stop();
    client.disconnect();
    writer.disconnect();
  }
}

export async function failoverBench(ctx: BenchContext): Promise<Figure[]> {
  const writes = ctx.quick ? 300 : 2000;
  const items = ctx.quick ? 300 : 2000;
  const burst = ctx.quick ? 200 : 600;
  const plain: number[] = [];
  const waited: number[] = [];
  const off: number[] = [];
  const on: number[] = [];
  const runs: FailoverRun[] = [];
  for (let run = 1; run <= ctx.runs; run++) {
    const dir = fs.mkdtempSync(path.join(ctx.tmpDir, 'failover-'));
    const group = await SentinelGroup.start(dir);
    try {
      const config = sentinelConfig(ctx, group, 'probe', 1);
      const client = new Redis(redisOptions(config.redis, 'command'));
      try {
        plain.push(await writeRoundTrip(client, writes, false));
        waited.push(await writeRoundTrip(client, writes, true));
      } finally {
        client.disconnect();
      }
      progress(`failover run ${run}: write ${plain.at(-1)?.toFixed(0)} µs, with WAIT ${waited.at(-1)?.toFixed(0)} µs`);
      off.push(await throughput(ctx, group, items, 0));
      on.push(await throughput(ctx, group, items, 1));
      progress(`failover run ${run}: ${off.at(-1)?.toFixed(0)} jobs/s without WAIT, ${on.at(-1)?.toFixed(0)} with`);
      const r = await failoverRun(ctx, group, burst);
      runs.push(r);
      progress(
        `failover run ${run}: first job on the new master ${r.firstJobMs.toFixed(0)} ms after the kill; ` +
          `lost ${r.lost}, duplicated ${r.duplicated} ${r.reasons.join(', ')}`,
      );
    } finally {
      await group.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const reasons = runs.flatMap((r) => r.reasons);
  const inputs: FigureInput[] = [
    { case: 'RPUSH alone', metric: 'write round trip', unit: 'µs', values: plain },
    { case: 'RPUSH + WAIT 1', metric: 'write round trip', unit: 'µs', values: waited, baseline: 'RPUSH alone' },
    { case: `service ${WORKERS} units, waitReplicas 0`, metric: 'echo jobs/s', unit: 'jobs/s', values: off },
    {
      case: `service ${WORKERS} units, waitReplicas 1`,
      metric: 'echo jobs/s',
      unit: 'jobs/s',
      values: on,
      baseline: `service ${WORKERS} units, waitReplicas 0`,
    },
    {
      case: 'master SIGKILLed mid-burst',
      metric: 'kill → first job on new master',
      unit: 'ms',
      values: runs.map((r) => r.firstJobMs),
    },
    { case: 'master SIGKILLed mid-burst', metric: 'items lost', unit: 'items', values: runs.map((r) => r.lost) },
    {
      case: 'master SIGKILLed mid-burst',
      metric: 'items duplicated',
      unit: 'items',
      values: runs.map((r) => r.duplicated),
      note: `${burst} items per run; duplicates: ${reasons.length > 0 ? reasons.join(', ') : 'none'}`,
    },
  ];
  return figuresOf('failover', inputs);
}
