/**
 * Redis memory per retained job (issue 23): echo jobs through the real Service on the private
 * Redis, then every key it left measured with `MEMORY USAGE` (by kind: completed job hashes and
 * their `completed` set, failed ones, the duplicate-detection sets, BullMQ's events streams) and
 * the `INFO memory` delta. Two retention settings, interleaved per run:
 *
 * - `before`: today's retention: every completed job kept whole for the duplicate window
 *   (`jobs.keepCompletedJobSeconds` = `jobs.keepCompletedSeconds` = 24 h; no id sets needed);
 * - `after`: whole jobs kept only briefly (`keepCompletedJobSeconds` 1 s here, so the run shows
 *   the steady state past that horizon), their ids remembered for the 24 h window.
 *
 * The projection for one day at `BENCH_FOOTPRINT_RATE` jobs/min (430) is arithmetic on the
 * measured bytes: jobs kept whole × bytes per whole job + ids remembered × bytes per id + the
 * events streams (bounded by BullMQ's `maxLenEvents`, not per job). `after` uses the default
 * `keepCompletedJobSeconds` for its whole jobs. Also Redis commands per job (`INFO commandstats`).
 */
import type { Redis } from 'ioredis';
import winston from 'winston';
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';
import { startCostMeter, type CostPerJob } from './lib/redis-cost.js';
import { summarize } from './lib/stats.js';

const PREFIX = 'bull';
const OK_QUEUE = 'conferencia';
const FAIL_QUEUE = 'emissao';
const DAY_SECONDS = 86_400;
const MB = 1024 * 1024;

/** Where each byte of a run's keys went. */
interface Bytes {
  /** Completed jobs' hashes (and their `:logs`), plus the queue's `completed` sorted set. */
  readonly completed: number;
  /** Failed jobs' hashes (and `:logs`), plus the `failed` sorted set. */
  readonly failed: number;
  /** Duplicate-detection ids (`<prefix>:rpa:seen:*`). */
  readonly seen: number;
  /** BullMQ's events streams (`<prefix>:<queue>:events`), all queues. */
  readonly events: number;
  /** Everything else (queue meta, id counters, pool keys, scaler history...). */
  readonly other: number;
  /** Completed job hashes still present at the end. */
  readonly completedHashes: number;
}

interface RunResult {
  readonly okJobs: number;
  readonly failedJobs: number;
  /** `INFO memory` used_memory after the run (service stopped) minus before it. */
  readonly usedMemoryDelta: number;
  readonly bytes: Bytes;
  /** Measured while the ok jobs ran. */
  readonly cost: CostPerJob;
}

interface Mode {
  readonly name: string;
  readonly keepCompletedJobSeconds: number;
}

const MODES: readonly Mode[] = [
  { name: 'before: whole jobs kept 24 h', keepCompletedJobSeconds: DAY_SECONDS },
  { name: 'after: ids kept 24 h, whole jobs lapse', keepCompletedJobSeconds: 1 },
];

function okItems(count: number): string[] {
  return Array.from({ length: count }, (_, n) =>
    JSON.stringify({ id: `doc-${n}`, cnpj: '12.345.678/0001-90', competencia: '2024-05', n }),
  );
}

/** Items whose echo outlasts the 1 s timeout: one failed attempt each, a realistic failed job. */
function failingItems(count: number): string[] {
  return Array.from({ length: count }, (_, n) =>
    JSON.stringify({ id: `bad-${n}`, cnpj: '12.345.678/0001-90', competencia: '2024-05', n, sleepMs: 1_500 }),
  );
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** Sums `MEMORY USAGE` (exact: SAMPLES 0) of every key, by kind. */
async function measureKeys(redis: Redis): Promise<Bytes> {
  const sums = { completed: 0, failed: 0, seen: 0, events: 0, other: 0, completedHashes: 0 };
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const usages = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const bytes = Number(usages[i]?.[1] ?? 0);
      const kind = kindOf(key);
      sums[kind] += bytes;
      if (kind === 'completed' && !key.endsWith(':completed') && !key.endsWith(':logs')) sums.completedHashes += 1;
    });
  } while (cursor !== '0');
  return sums;
}

function kindOf(key: string): 'completed' | 'failed' | 'seen' | 'events' | 'other' {
  if (key.startsWith(`${PREFIX}:rpa:seen:`)) return 'seen';
  if (key.endsWith(':events')) return 'events';
  const queue = key.startsWith(`${PREFIX}:${OK_QUEUE}:`)
    ? OK_QUEUE
    : key.startsWith(`${PREFIX}:${FAIL_QUEUE}:`)
      ? FAIL_QUEUE
      : undefined;
  if (queue === undefined) return 'other';
  const rest = key.slice(`${PREFIX}:${queue}:`.length);
  if (rest === 'completed') return 'completed';
  if (rest === 'failed') return 'failed';
  // A job hash or its logs: `doc-1`, `doc-1:logs` (ids here always start with doc- or bad-).
  if (rest.startsWith('doc-')) return 'completed';
  if (rest.startsWith('bad-')) return 'failed';
  return 'other';
}

async function oneRun(ctx: BenchContext, mode: Mode, okCount: number, failCount: number): Promise<RunResult> {
  await ctx.flush();
  const before = await usedMemory(ctx.redis);
  const config = ctx.config({
    capacity: { enabled: false },
    jobs: { keepCompletedSeconds: DAY_SECONDS, keepCompletedJobSeconds: mode.keepCompletedJobSeconds },
    queues: {
      [OK_QUEUE]: { flow: 'echo', minWorkers: 1, maxWorkers: 1, attempts: 1 },
      [FAIL_QUEUE]: { flow: 'echo', minWorkers: 10, maxWorkers: 10, attempts: 1, timeoutSeconds: 1 },
    },
  });
  const service = await startService(ctx, config, { [OK_QUEUE]: 1, [FAIL_QUEUE]: 10 });
  let cost: CostPerJob;
  let extra = 0;
  try {
    const failed = whenFinished(service, failCount);
    await pushItems(ctx.redis, `fila:${FAIL_QUEUE}`, failingItems(failCount));
    await failed;
    const finished = whenFinished(service, okCount);
    const meter = await startCostMeter(ctx.redis);
    await pushItems(ctx.redis, `fila:${OK_QUEUE}`, okItems(okCount));
    await finished;
    cost = await meter.stop(okCount);
    // BullMQ drops lapsed whole jobs when a later job completes: a few more, until the batch is gone.
    while (mode.keepCompletedJobSeconds < 5 && (await ctx.redis.zcard(`${PREFIX}:${OK_QUEUE}:completed`)) > extra) {
      if (extra >= 20) throw new Error('BullMQ did not drop the lapsed completed jobs');
      await new Promise((r) => setTimeout(r, (mode.keepCompletedJobSeconds + 1) * 1000));
      const last = whenFinished(service, 1);
      await pushItems(ctx.redis, `fila:${OK_QUEUE}`, [JSON.stringify({ id: `doc-${okCount + extra}`, n: extra })]);
      extra += 1;
      await last;
    }
  } finally {
    await service.stop();
  }
  const results = await ctx.redis.llen('fila:resultado');
  const expected = okCount + failCount + extra;
  if (results !== expected) throw new Error(`expected ${expected} result entries, found ${results}`);
  // The result list is the writer's, not the service's retention: not counted.
  await ctx.redis.del('fila:resultado');
  const bytes = await measureKeys(ctx.redis);
  const usedMemoryDelta = (await usedMemory(ctx.redis)) - before;
  const kb = (n: number): string => `${Math.round(n / 1024)} KB`;
  progress(
    `redis-footprint: ${mode.name}: used_memory +${kb(usedMemoryDelta)}; completed ${kb(bytes.completed)} ` +
      `(${bytes.completedHashes} whole jobs left), failed ${kb(bytes.failed)}, ids ${kb(bytes.seen)}, ` +
      `events ${kb(bytes.events)}, other ${kb(bytes.other)}`,
  );
  await ctx.flush();
  return { okJobs: okCount, failedJobs: failCount, usedMemoryDelta, bytes, cost };
}

/** Bytes per completed job by `INFO memory`: the delta less what the failed jobs, streams and other keys took. */
function retainedPerJob(r: RunResult): number {
  return (r.usedMemoryDelta - r.bytes.failed - r.bytes.events - r.bytes.other) / r.okJobs;
}

/**
 * MB for one day at `ratePerMin`: `wholeJobSeconds` of whole completed jobs at `wholeJobBytes`
 * each, the rest of the day's jobs at `idBytes` each (0 when whole jobs cover the day), plus the
 * events streams (bounded, not per job).
 */
function projectDayMb(
  ratePerMin: number,
  wholeJobSeconds: number,
  wholeJobBytes: number,
  idBytes: number,
  eventsBytes: number,
): number {
  const perSecond = ratePerMin / 60;
  const whole = perSecond * Math.min(wholeJobSeconds, DAY_SECONDS);
  const idsOnly = perSecond * DAY_SECONDS - whole;
  return (whole * wholeJobBytes + idsOnly * idBytes + eventsBytes) / MB;
}

export async function redisFootprintBench(ctx: BenchContext): Promise<Figure[]> {
  const okCount = Number(process.env.BENCH_FOOTPRINT_JOBS ?? (ctx.quick ? 2_000 : 20_000));
  const failCount = Number(process.env.BENCH_FOOTPRINT_FAILED ?? (ctx.quick ? 20 : 200));
  const rate = Number(process.env.BENCH_FOOTPRINT_RATE ?? 430);
  const keepJobSeconds = ctx.config({}).jobs.keepCompletedJobSeconds; // the default, for `after`'s projection
  // The failing jobs log an error each: not what this bench is about.
  const quiet = { ...ctx, logger: winston.createLogger({ silent: true }) };
  const results = new Map<string, RunResult[]>(MODES.map((m) => [m.name, []]));
  for (let run = 1; run <= ctx.runs; run++) {
    for (const mode of MODES) {
      progress(`redis-footprint: run ${run}/${ctx.runs}, ${mode.name}, ${okCount} ok + ${failCount} failed echo jobs`);
      results.get(mode.name)?.push(await oneRun(quiet, mode, okCount, failCount));
    }
  }
  const [before] = MODES as [Mode, Mode];
  const beforeRuns = results.get(before.name) ?? [];
  // One whole completed job, from the runs that keep them all (used to project `after`'s first hour).
  const wholeJobBytes = summarize(beforeRuns.map(retainedPerJob)).median;
  const inputs: FigureInput[] = [];
  for (const mode of MODES) {
    const runs = results.get(mode.name) ?? [];
    const isBefore = mode === before;
    const of = (pick: (r: RunResult) => number): number[] => runs.map(pick);
    const vs = isBefore ? {} : { baseline: before.name };
    inputs.push({
      case: mode.name,
      metric: 'retained/completed job, INFO',
      unit: 'B',
      values: of(retainedPerJob),
      ...vs,
      note: isBefore
        ? `${okCount} echo jobs kept whole: INFO used_memory delta less failed jobs, streams, other keys`
        : `${okCount} echo jobs, whole jobs dropped after 1 s: what each keeps for the 24 h duplicate window`,
    });
    inputs.push({
      case: mode.name,
      metric: 'retained/completed job, MEMORY USAGE',
      unit: 'B',
      values: of((r) => (r.bytes.completed + r.bytes.seen) / r.okJobs),
      ...vs,
      note: 'job hashes + completed set + id sets, by MEMORY USAGE (SAMPLES 0); no allocator or main-dict overhead',
    });
    inputs.push({
      case: mode.name,
      metric: 'failed job, MEMORY USAGE',
      unit: 'B',
      values: of((r) => r.bytes.failed / Math.max(1, r.failedJobs)),
      note: `${failCount} echo jobs failed by timeout (1 attempt, stack trace), kept whole jobs.keepFailedSeconds`,
    });
    inputs.push({ case: mode.name, metric: 'events streams', unit: 'MB', values: of((r) => r.bytes.events / MB) });
    inputs.push({
      case: mode.name,
      metric: `one day at ${rate} jobs/min`,
      unit: 'MB',
      values: of((r) =>
        isBefore
          ? projectDayMb(rate, DAY_SECONDS, retainedPerJob(r), 0, r.bytes.events)
          : projectDayMb(rate, keepJobSeconds, wholeJobBytes, retainedPerJob(r), r.bytes.events),
      ),
      ...vs,
      note: isBefore
        ? 'projected: the whole day of completed jobs kept whole (INFO bytes) + events streams'
        : `projected: ${keepJobSeconds / 60} min of whole jobs (the default jobs.keepCompletedJobSeconds, ` +
          "bytes from 'before') + the rest of the day as ids + events streams",
    });
    inputs.push({
      case: mode.name,
      metric: 'redis commands/job',
      unit: 'n',
      values: of((r) => r.cost.redisCommands),
      ...vs,
      note: 'INFO commandstats while the ok jobs ran (Lua-internal commands included), per job',
    });
    inputs.push({ case: mode.name, metric: 'lua script calls/job', unit: 'n', values: of((r) => r.cost.scriptCalls) });
  }
  return figuresOf('redis-footprint', inputs);
}
