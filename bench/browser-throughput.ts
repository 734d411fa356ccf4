/**
 * Browser throughput: the conferencia flow against the demo portal in real Chromium through the
 * real Service with 1, 2, 4 and 8 worker units (minWorkers = maxWorkers = N): jobs/min (first push
 * to last result entry; each unit's first job logs in), p50 and p95 of the entries' durationMs,
 * and memory per worker (PSS and RSS of the browser processes this process started, sampled every
 * second, peak / N), and CPU per job split by process over the same window: this Node process
 * (service: bridge, BullMQ, Playwright), the Chromium trees, the demo portal (a child process here,
 * so its CPU is apart from the service's) and the private Redis (INFO cpu). Baseline: N = 1 in
 * the same run. BENCH_BROWSER_WORKERS (e.g. `2`) picks the worker counts, BENCH_BROWSER_JOBS the
 * jobs per run, BENCH_BROWSER_REUSE=0 skips the page-reuse part.
 *
 * Then page reuse at 2 workers, without BullMQ: two loops, each with its own browser, running the
 * flow directly with the page kept, a new page per job, a new context per job or a new browser per
 * job (bench/lib/browser-strategies.ts). Baseline: page reused.
 */
import type { Redis } from 'ioredis';
import { DEMO_PASSWORD, DEMO_USER } from '../src/demo/portal/server.js';
import type { PortalCredentials } from '../src/flows/flow.js';
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { MODES, runJob, strategyFor, type Mode } from './lib/browser-strategies.js';
import { CpuSplit } from './lib/cpu-split.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { browserMemoryMb } from './lib/memory.js';
import { startPortalProcess, type PortalProcess } from './lib/portal-process.js';
import { progress } from './lib/progress.js';
import { quantile } from './lib/stats.js';

interface PoolRun {
  readonly jobsPerMin: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly pssMbPerWorker: number;
  readonly rssMbPerWorker: number;
  /** CPU milliseconds per job by process: service (this Node), chromium, portal, redis. */
  readonly cpuMsPerJob: Readonly<Record<CpuPart, number>>;
}

const CPU_PARTS = [
  'service',
  'chromium',
  'chromium renderer',
  'chromium browser',
  'chromium other',
  'portal',
  'redis',
] as const;
type CpuPart = (typeof CPU_PARTS)[number];

/** used_cpu_sys + used_cpu_user of the private redis-server (all its threads), seconds. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

let docSeq = 500_000;

async function poolRun(ctx: BenchContext, portal: PortalProcess, workers: number, jobs: number): Promise<PoolRun> {
  const config = ctx.config(
    {
      queues: {
        conferencia: { flow: 'conferencia', minWorkers: workers, maxWorkers: workers },
        emissao: { flow: 'echo' },
      },
      // Fixed N: the capacity bound would lower N whenever the shared machine is busy.
      capacity: { enabled: false },
      shutdown: { timeoutSeconds: 15 },
    },
    { PORTAL_URL: portal.url, RPA_USUARIO: DEMO_USER, RPA_SENHA: DEMO_PASSWORD },
  );
  const service = await startService(ctx, config, { conferencia: workers }, 120_000);
  let peak = { pssMb: 0, rssMb: 0 };
  const sample = async (): Promise<void> => {
    const m = await browserMemoryMb();
    peak = { pssMb: Math.max(peak.pssMb, m.pssMb), rssMb: Math.max(peak.rssMb, m.rssMb) };
  };
  const sampler = setInterval(() => void sample(), 1000);
  try {
    const items = Array.from({ length: jobs }, () => JSON.stringify({ documento: String((docSeq += 1)) }));
    const finished = whenFinished(service, jobs);
    const split = new CpuSplit(new Map([[portal.pid, 'portal']]));
    const redis0 = await redisCpuSeconds(ctx.redis);
    const started = performance.now();
    await pushItems(ctx.redis, 'fila:conferencia', items);
    const doneAt = await finished;
    split.sample();
    const redisSeconds = (await redisCpuSeconds(ctx.redis)) - redis0;
    const bySplit = split.seconds();
    const byRole = split.secondsByRole();
    const roleMs = (role: string): number => ((byRole[`chromium ${role}`] ?? 0) * 1000) / jobs;
    const chromiumMs = ((bySplit.chromium ?? 0) * 1000) / jobs;
    await sample();
    const entries = (await ctx.redis.lrange('fila:resultado', 0, -1)).map(
      (e) => JSON.parse(e) as { status: string; durationMs: number },
    );
    const failed = entries.filter((e) => e.status !== 'ok').length;
    if (failed > 0) throw new Error(`${failed} of ${entries.length} conferencia jobs failed`);
    const durations = entries.map((e) => e.durationMs);
    return {
      jobsPerMin: (jobs / ((doneAt - started) / 1000)) * 60,
      p50Ms: quantile(durations, 0.5),
      p95Ms: quantile(durations, 0.95),
      pssMbPerWorker: peak.pssMb / workers,
      rssMbPerWorker: peak.rssMb / workers,
      cpuMsPerJob: {
        service: ((bySplit.node ?? 0) * 1000) / jobs,
        chromium: chromiumMs,
        'chromium renderer': roleMs('renderer'),
        'chromium browser': roleMs('browser'),
        'chromium other': chromiumMs - roleMs('renderer') - roleMs('browser'),
        portal: ((bySplit.portal ?? 0) * 1000) / jobs,
        redis: (redisSeconds * 1000) / jobs,
      },
    };
  } finally {
    clearInterval(sampler);
    await service.stop();
    await ctx.flush();
  }
}

/** `workers` loops, each with its own strategy; one untimed warm-up job each; returns jobs/min and per-job ms. */
async function reuseRun(
  ctx: BenchContext,
  portal: PortalCredentials,
  mode: Mode,
  workers: number,
  jobsPerWorker: number,
): Promise<{ jobsPerMin: number; msPerJob: number }> {
  const browserConfig = ctx.config({}).browser;
  const strategies = await Promise.all(Array.from({ length: workers }, () => strategyFor(mode, browserConfig)));
  try {
    await Promise.all(strategies.map((s) => runJob(s, portal, ctx.logger, ctx.tmpDir)));
    const times: number[] = [];
    const started = performance.now();
    await Promise.all(
      strategies.map(async (s) => {
        for (let i = 0; i < jobsPerWorker; i++) times.push(await runJob(s, portal, ctx.logger, ctx.tmpDir));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { jobsPerMin: ((workers * jobsPerWorker) / seconds) * 60, msPerJob: quantile(times, 0.5) };
  } finally {
    await Promise.allSettled(strategies.map((s) => s.close()));
  }
}

/** Worker counts from BENCH_BROWSER_WORKERS (`2` or `1,2`), else 1, 2, 4 and 8. */
function workerCounts(): number[] {
  const raw = process.env.BENCH_BROWSER_WORKERS;
  if (!raw) return [1, 2, 4, 8];
  const counts = raw.split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`bad BENCH_BROWSER_WORKERS: ${raw}`);
  return counts;
}

export async function browserThroughputBench(ctx: BenchContext): Promise<Figure[]> {
  const counts = workerCounts();
  const fixedJobs = Number(process.env.BENCH_BROWSER_JOBS ?? 0);
  const jobsFor = (n: number): number =>
    fixedJobs > 0 ? fixedJobs : ctx.quick ? Math.max(4, 2 * n) : Math.max(16, 4 * n);
  const reuseJobsPerWorker = ctx.quick ? 2 : 6;
  const modes = process.env.BENCH_BROWSER_REUSE === '0' ? [] : MODES;
  const portal = await startPortalProcess();
  const credentials: PortalCredentials = { url: portal.url, user: DEMO_USER, password: DEMO_PASSWORD };
  const pool = new Map<number, PoolRun[]>(counts.map((n) => [n, []]));
  const reuse = new Map<Mode, { jobsPerMin: number; msPerJob: number }[]>(MODES.map((m) => [m, []]));
  try {
    await ctx.flush();
    for (let run = 1; run <= ctx.runs; run++) {
      for (const n of counts) {
        progress(`browser: run ${run}/${ctx.runs}, service with ${n} conferencia worker(s), ${jobsFor(n)} jobs`);
        pool.get(n)?.push(await poolRun(ctx, portal, n, jobsFor(n)));
      }
      for (const mode of modes) {
        progress(`browser: run ${run}/${ctx.runs}, 2 workers, ${mode}, ${reuseJobsPerWorker} jobs each`);
        reuse.get(mode)?.push(await reuseRun(ctx, credentials, mode, 2, reuseJobsPerWorker));
      }
    }
  } finally {
    await portal.close();
  }
  const inputs: FigureInput[] = [];
  const base = counts.includes(1) ? 'service, 1 worker' : undefined;
  for (const n of counts) {
    const runs = pool.get(n) ?? [];
    const name = n === 1 ? 'service, 1 worker' : `service, ${n} workers`;
    const withBase = n === 1 || base === undefined ? {} : { baseline: base };
    inputs.push({
      case: name,
      metric: 'throughput',
      unit: 'jobs/min',
      values: runs.map((r) => r.jobsPerMin),
      ...withBase,
      note: `${jobsFor(n)} conferencia jobs via bridge + BullMQ, real Chromium, demo portal (child process)`,
    });
    for (const part of CPU_PARTS) {
      inputs.push({
        case: name,
        metric: `CPU/job ${part}`,
        unit: 'ms',
        values: runs.map((r) => r.cpuMsPerJob[part]),
        ...withBase,
      });
    }
    inputs.push({ case: name, metric: 'job time p50', unit: 'ms', values: runs.map((r) => r.p50Ms), ...withBase });
    inputs.push({ case: name, metric: 'job time p95', unit: 'ms', values: runs.map((r) => r.p95Ms), ...withBase });
    inputs.push({
      case: name,
      metric: 'browser PSS/worker',
      unit: 'MB',
      values: runs.map((r) => r.pssMbPerWorker),
      ...withBase,
    });
    inputs.push({
      case: name,
      metric: 'browser RSS/worker',
      unit: 'MB',
      values: runs.map((r) => r.rssMbPerWorker),
      ...withBase,
    });
  }
  const reuseBase = '2 workers, page reused';
  for (const mode of modes) {
    const runs = reuse.get(mode) ?? [];
    const name = `2 workers, ${mode}`;
    const withBase = name === reuseBase ? {} : { baseline: reuseBase };
    inputs.push({
      case: name,
      metric: 'throughput',
      unit: 'jobs/min',
      values: runs.map((r) => r.jobsPerMin),
      ...withBase,
      ...(name === reuseBase
        ? { note: `flow run directly (no BullMQ), ${reuseJobsPerWorker} timed jobs per worker after a warm-up job` }
        : {}),
    });
    inputs.push({ case: name, metric: 'job time p50', unit: 'ms', values: runs.map((r) => r.msPerJob), ...withBase });
  }
  return figuresOf('browser', inputs);
}
