/**
 * The pool history on a real Redis: several writers (instances) and one reader, as the service
 * wires them; what the keys look like, how long they live, and what a flush costs.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisAlertLedger } from '../../../src/alerts/alert-ledger.js';
import { PoolHistoryReader } from '../../../src/history/history-reader.js';
import { PoolHistoryWriter } from '../../../src/history/history-writer.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { PrivateRedis, deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';

const MINUTE = 60_000;
/** A fixed moment, 30 s into a minute (and into an hour): buckets are predictable. */
const T0 = Date.UTC(2026, 10, 30, 12, 0, 30);

function writerFor(
  redis: Redis,
  prefix: string,
  id: string,
  clock: () => number,
  gauges = { pending: 0, workers: 0, bridgeStuckSeconds: 0 },
) {
  const events = new ServiceEvents();
  const writer = new PoolHistoryWriter({
    redis,
    prefix,
    queues: ['q1', 'q2'],
    instanceId: id,
    events,
    gauges: (queue) => (queue === 'q1' ? gauges : { pending: 0, workers: 0, bridgeStuckSeconds: 0 }),
    retentionMs: 7 * 86_400_000,
    logger: captureLogger().logger,
    flushMs: 60_000, // the test flushes by hand
    clock,
  });
  writer.start();
  const finish = (queue: string, outcome: 'ok' | 'error' | 'retry' | 'expired', durationMs: number, n = 1) => {
    for (let i = 0; i < n; i++)
      events.emit('job-finished', { queue, worker: `Worker-${queue}-1`, outcome, durationMs });
  };
  return { writer, events, finish, gauges };
}

describe('pool history in Redis', () => {
  const config = sharedRedisConfig();
  let redis: Redis;
  const prefixes: string[] = [];

  beforeAll(async () => {
    redis = new Redis({ host: config.host, port: config.port });
    await redis.ping(); // ready: close() writes what is left only to a Redis that answers
  });

  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
    redis.disconnect();
  });

  function newPrefix(): string {
    const p = uniqueName('hist');
    prefixes.push(p);
    return p;
  }

  it('sums every instance: counts, merged percentiles, pending and units, and who did what', async () => {
    const prefix = newPrefix();
    let now = T0;
    const clock = () => now;
    const a = writerFor(redis, prefix, 'maq-a', clock, { pending: 120, workers: 2, bridgeStuckSeconds: 0 });
    const b = writerFor(redis, prefix, 'maq-b', clock, { pending: 110, workers: 3, bridgeStuckSeconds: 0 });
    a.finish('q1', 'ok', 100, 60);
    a.finish('q1', 'retry', 5000, 2);
    b.finish('q1', 'ok', 2000, 40);
    b.finish('q1', 'error', 9000);
    b.finish('q1', 'expired', 0);
    b.events.emit('invalid', { queue: 'q2', reason: 'not-json' });
    await a.writer.flush();
    now += 1000;
    b.gauges.pending = 100; // the freshest report of the global backlog wins
    await b.writer.flush();
    const reader = new PoolHistoryReader({ redis, prefix, queues: ['q1', 'q2'], clock });

    const hour = await reader.series(now - 30 * MINUTE, now);
    expect(hour.stepMs).toBe(MINUTE);
    const [p] = hour.queues.q1?.points ?? [];
    expect(p).toMatchObject({
      at: T0 - 30_000,
      completed: 100,
      failed: 3,
      retried: 2,
      expired: 1,
      pending: 100,
      pendingMax: 120,
      workers: 5,
      workersMax: 5,
    });
    // 60 of 103 timed attempts took 100 ms: the median is there; p90 among the 2 s ones.
    expect(p?.p50Ms).toBeLessThanOrEqual(100);
    expect(p?.p90Ms).toBeGreaterThan(1500);
    expect(p?.p90Ms).toBeLessThanOrEqual(2000);
    expect(hour.queues.q1?.instances).toEqual({
      'maq-a': { completed: 60, failed: 2 },
      'maq-b': { completed: 40, failed: 1 },
    });
    expect(hour.queues.q2?.points.map((x) => x.invalid)).toEqual([1]);

    // The same numbers at the coarser tiers (written at the first flush of a bucket).
    const week = await reader.series(now - 7 * 86_400_000, now);
    expect(week.stepMs).toBe(3_600_000);
    expect(week.queues.q1?.points).toMatchObject([{ completed: 100, failed: 3 }]);
    expect((await reader.series(now - 86_400_000, now)).queues.q1?.points).toMatchObject([{ completed: 100 }]);

    const outcomes = await reader.outcomes(MINUTE);
    expect(outcomes.q1).toMatchObject({ ok: 100, error: 1, retry: 2, expired: 1, invalid: 0 });
    expect(outcomes['']).toMatchObject({ ok: 100, invalid: 1 });
    expect(outcomes.q1?.meanDurationMs).toBeCloseTo((60 * 100 + 2 * 5000 + 40 * 2000 + 9000) / 103);
    await a.writer.close();
    await b.writer.close();
  });

  it('keeps what a run wrote when the instance restarts with the same id, and drops it after the retention', async () => {
    const prefix = newPrefix();
    let now = T0;
    const clock = () => now;
    const first = writerFor(redis, prefix, 'maq-a', clock);
    first.finish('q1', 'ok', 50, 600);
    await first.writer.close();
    now += 20_000;
    const second = writerFor(redis, prefix, 'maq-a', clock);
    second.finish('q1', 'ok', 50, 600);
    await second.writer.close();
    const reader = new PoolHistoryReader({ redis, prefix, queues: ['q1', 'q2'], clock });
    const series = await reader.series(now - 5 * MINUTE, now);
    expect(series.queues.q1?.points.map((x) => x.completed)).toEqual([1200]);
    expect(series.queues.q1?.instances).toEqual({ 'maq-a': { completed: 1200, failed: 0 } });

    const keys = (await redis.keys(`${prefix}:*`)).sort();
    expect(keys).toEqual([
      `${prefix}:rpa:metrics:q1:10m:${T0 - 30_000}`,
      `${prefix}:rpa:metrics:q1:1h:${T0 - 30_000}`,
      `${prefix}:rpa:metrics:q1:1m:${T0 - 30_000}`,
    ]);
    // Each bucket lives until its end plus metrics.retentionDays (7 here).
    const expireAt = await redis.pexpiretime(`${prefix}:rpa:metrics:q1:1m:${T0 - 30_000}`);
    expect(expireAt).toBe(T0 - 30_000 + MINUTE + 7 * 86_400_000);
    expect(await redis.hlen(`${prefix}:rpa:metrics:q1:1m:${T0 - 30_000}`)).toBe(2); // one field per run
  });

  it('reports the pool’s stuck bridges, ignoring an instance that stopped reporting', async () => {
    const prefix = newPrefix();
    let now = T0;
    const clock = () => now;
    const a = writerFor(redis, prefix, 'maq-a', clock, { pending: 0, workers: 0, bridgeStuckSeconds: 45 });
    const b = writerFor(redis, prefix, 'maq-b', clock, { pending: 0, workers: 0, bridgeStuckSeconds: 0 });
    await a.writer.flush();
    await b.writer.flush();
    const reader = new PoolHistoryReader({ redis, prefix, queues: ['q1', 'q2'], clock });
    expect(await reader.bridgeStuckSeconds()).toEqual({ q1: 45, q2: 0 });
    // maq-a goes silent (dead); 20 s later its report is stale.
    now += 20_000;
    b.gauges.bridgeStuckSeconds = 3;
    await b.writer.flush();
    expect(await reader.bridgeStuckSeconds()).toEqual({ q1: 3, q2: 0 });
    await a.writer.close();
    await b.writer.close();
  });

  it('writes a second of 1,000 jobs with about one HSET per queue (the coarser tiers every 10 s)', async () => {
    const server = await PrivateRedis.create();
    await server.start();
    const own = new Redis({ host: '127.0.0.1', port: server.port });
    try {
      let now = T0;
      const w = writerFor(own, 'cost', 'maq-a', () => now);
      await own.config('RESETSTAT');
      let jobs = 0;
      for (let second = 0; second < 20; second++) {
        w.finish('q1', 'ok', 300, 1000);
        jobs += 1000;
        await w.writer.flush();
        now += 1000;
      }
      const stats = await own.info('commandstats');
      const calls = (cmd: string): number => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      // 20 flushes: 20 minute writes, 2 ten-minute and 2 hour writes; one expiry per bucket.
      expect(calls('hset')).toBe(20 + 2 + 2);
      expect(calls('pexpireat')).toBe(3);
      expect((calls('hset') + calls('pexpireat')) / jobs).toBeLessThan(0.01);
      await w.writer.close();
    } finally {
      own.disconnect();
      await server.stop();
    }
  });
});

describe('the pool’s alert ledger in Redis', () => {
  const config = sharedRedisConfig();
  let redis: Redis;
  const key = `${uniqueName('alerts')}:rpa:alerts:q1+q2`;

  beforeAll(() => {
    redis = new Redis({ host: config.host, port: config.port });
  });

  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('gives each report to one instance per cooldown, keeps breach starts, and survives a clock jump back', async () => {
    const a = new RedisAlertLedger({ redis, key, ttlMs: 86_400_000 });
    const b = new RedisAlertLedger({ redis, key, ttlMs: 86_400_000 });
    // Two instances claim at once: one gets it.
    const [ca, cb] = await Promise.all([a.claim(['w'], 1_000_000, 60_000), b.claim(['w'], 1_000_000, 60_000)]);
    expect(ca.size + cb.size).toBe(1);
    expect([...(await b.claim(['w'], 1_059_000, 60_000))]).toEqual([]);
    expect([...(await b.claim(['w', 'x'], 1_060_000, 60_000))]).toEqual(['w', 'x']);
    // An hour back: restarts the cooldown from there (at most one cooldown of silence).
    expect([...(await a.claim(['w'], 1_060_000 - 3_600_000, 60_000))]).toEqual([]);
    expect([...(await a.claim(['w'], 1_060_000 - 3_600_000 + 60_000, 60_000))]).toEqual(['w']);

    // The start of a sustained breach, whoever evaluates; cleared by a break.
    expect(await a.breachedSince([{ rule: 'b', breached: true }], 2_000_000)).toEqual(new Map([['b', 2_000_000]]));
    expect(await b.breachedSince([{ rule: 'b', breached: true }], 2_060_000)).toEqual(new Map([['b', 2_000_000]]));
    expect(await b.breachedSince([{ rule: 'b', breached: false }], 2_070_000)).toEqual(new Map());
    expect(await a.breachedSince([{ rule: 'b', breached: true }], 2_080_000)).toEqual(new Map([['b', 2_080_000]]));
    expect(await redis.pttl(key)).toBeGreaterThan(86_000_000);
  });
});
