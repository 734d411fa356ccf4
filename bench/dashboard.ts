/**
 * `/api/dashboard` over a full pool history: 7 days of per-minute records (and their 10-minute and
 * hour tiers) for 3 queues written by 3 instances, plus a full decision stream (scaler.historyMaxLen
 * decisions over the last day), read through the real Service's HTTP server. p50 and p95 of
 * sequential requests per range; the goal is p95 ≤ 150 ms at 7 days. Baseline: the 1 h range.
 */
import type { Redis } from 'ioredis';
import { TIERS, bucketStart, historyKey, runField } from '../src/history/history-keys.js';
import { EMPTY_TALLY, countEvent, encodeTally, withGauges, type Tally } from '../src/history/tally.js';
import { decisionsKey } from '../src/redis/keys.js';
import { startService, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';
import { quantile } from './lib/stats.js';

const QUEUES = ['conferencia', 'emissao', 'ensaio'];
const INSTANCES = ['maq-a', 'maq-b', 'maq-c'];
const DAY_MS = 86_400_000;
const RANGES = ['1h', '24h', '7d'] as const;

/** One instance's record of a bucket: `jobs` attempts around 1 s, a few failures, a backlog. */
function tallyOf(jobs: number, seed: number, at: number): Tally {
  let t = EMPTY_TALLY;
  for (let i = 0; i < jobs; i++) {
    const outcome = (seed + i) % 50 === 0 ? 'retry' : (seed + i) % 97 === 0 ? 'error' : 'ok';
    t = countEvent(t, { kind: 'job', outcome, durationMs: 300 + ((seed * 31 + i * 17) % 2700) });
  }
  return withGauges(t, { pending: (seed * 13) % 400, workers: 1 + (seed % 4), bridgeStuckSeconds: 0 }, at);
}

/** Seven days of history as the writers leave it: every minute, every 10 minutes, every hour. */
async function seedHistory(redis: Redis, prefix: string, now: number, retentionMs: number): Promise<number> {
  let records = 0;
  let pipeline = redis.pipeline();
  for (const tier of TIERS) {
    const perBucket = Math.max(1, Math.round((20 * tier.ms) / 60_000 / 10)); // ~20 jobs/min/instance, thinned
    for (let start = bucketStart(tier, now - 7 * DAY_MS); start <= now; start += tier.ms) {
      for (const queue of QUEUES) {
        const key = historyKey(prefix, queue, tier, start);
        INSTANCES.forEach((id, i) => {
          pipeline.hset(key, runField(id, 'bench'), encodeTally(tallyOf(perBucket, start / 60_000 + i, start)));
          records++;
        });
        pipeline.pexpireat(key, start + tier.ms + retentionMs);
        if (records % 5000 < INSTANCES.length) {
          await pipeline.exec();
          pipeline = redis.pipeline();
        }
      }
    }
  }
  await pipeline.exec();
  return records;
}

/**
 * A full decision stream: `count` decisions over the last day, mostly holds, with stream ids at
 * their decision times (as the scaler's XADD gives them).
 */
async function seedDecisions(redis: Redis, key: string, now: number, count: number): Promise<void> {
  const step = DAY_MS / count;
  let pipeline = redis.pipeline();
  for (let i = 0; i < count; i++) {
    const at = Math.round(now - DAY_MS + i * step);
    const queue = QUEUES[i % QUEUES.length] ?? 'conferencia';
    const pending = (i * 7) % 500;
    const current = Math.min(10, Math.ceil(pending / 50));
    const target = i % 20 === 0 ? Math.min(10, current + 1) : current;
    const fields = { at, queue, pending, current, desired: target, target, action: target > current ? 'up' : 'hold' };
    const reason = `ceil(${pending}/50) limitado a [mín, máx] = ${target}`;
    pipeline.xadd(key, `${at}-${i}`, ...Object.entries(fields).flat().map(String), 'reason', reason);
    if (i % 1000 === 999) {
      await pipeline.exec();
      pipeline = redis.pipeline();
    }
  }
  await pipeline.exec();
}

async function timeRequests(url: string, range: string, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/dashboard?range=${range}`);
    const body = (await res.json()) as { queues: Record<string, { points: unknown[] }> };
    times.push(performance.now() - t0);
    if (!res.ok || Object.keys(body.queues).length < QUEUES.length) throw new Error(`bad answer for ${range}`);
    if (i === 0) progress(`dashboard: ${range}: ${body.queues.conferencia?.points.length ?? 0} points per queue`);
  }
  return times;
}

export async function dashboardBench(ctx: BenchContext): Promise<Figure[]> {
  const requests = Number(process.env.BENCH_DASHBOARD_REQUESTS ?? (ctx.quick ? 40 : 200));
  const config = ctx.config({
    http: { enabled: true, host: '127.0.0.1', port: 0 },
    queues: Object.fromEntries(QUEUES.map((q) => [q, { flow: 'echo' }])),
  });
  const p50: Record<string, number[]> = {};
  const p95: Record<string, number[]> = {};
  for (let run = 1; run <= ctx.runs; run++) {
    await ctx.flush();
    const now = Date.now();
    progress(
      `dashboard: run ${run}/${ctx.runs}, seeding 7 days × ${QUEUES.length} queues × ${INSTANCES.length} instances`,
    );
    const records = await seedHistory(ctx.redis, config.redis.prefix, now, config.metrics.retentionDays * DAY_MS);
    await seedDecisions(ctx.redis, decisionsKey(config.redis.prefix), now, config.scaler.historyMaxLen);
    progress(`dashboard: ${records} records, ${config.scaler.historyMaxLen} decisions; ${requests} requests per range`);
    const service = await startService(ctx, config);
    try {
      const url = service.httpUrl ?? '';
      await timeRequests(url, '7d', 5); // warm up
      for (const range of RANGES) {
        const times = await timeRequests(url, range, requests);
        (p50[range] ??= []).push(quantile(times, 0.5));
        (p95[range] ??= []).push(quantile(times, 0.95));
      }
    } finally {
      await service.stop();
    }
  }
  const inputs: FigureInput[] = [];
  for (const range of RANGES) {
    const base = range === '1h' ? undefined : 'range 1h';
    const note =
      range === '7d'
        ? `goal p95 ≤ 150 ms; ${QUEUES.length} queues × ${INSTANCES.length} instances, 7 days of history, ${requests} sequential requests`
        : undefined;
    inputs.push({
      case: `range ${range}`,
      metric: 'p50',
      unit: 'ms',
      values: p50[range] ?? [],
      ...(base ? { baseline: base } : {}),
    });
    inputs.push({
      case: `range ${range}`,
      metric: 'p95',
      unit: 'ms',
      values: p95[range] ?? [],
      ...(base ? { baseline: base } : {}),
      ...(note ? { note } : {}),
    });
  }
  return figuresOf('dashboard', inputs);
}
