/**
 * Soak: 2,000 conferencia jobs (SOAK_JOBS) through the real Service at 2 worker units, real
 * Chromium, demo portal. Reports the PSS of each unit's whole browser process tree at jobs 0, 100,
 * 500, 1,000 and 2,000 and its peak (1 s samples), jobs/min, and browser relaunches by reason.
 * Two variants in the same run: the browser settings as they were before issue 17 (no garbage
 * collection between jobs, no memory bound; recycle after 500 jobs), the baseline, then the
 * defaults. SOAK_BEFORE_JOBS shortens the baseline.
 */
import { startPortal, DEMO_PASSWORD, DEMO_USER } from '../src/demo/portal/server.js';
import type { ServiceEventMap } from '../src/shared/events.js';
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { browserTreesPssMb } from './lib/memory.js';
import { progress } from './lib/progress.js';

const WORKERS = 2;

interface Variant {
  readonly name: string;
  readonly browser: Record<string, number>;
  readonly jobs: number;
}

interface SoakRun {
  readonly jobsPerMin: number;
  /** Largest unit tree PSS at each checkpoint (jobs done → MB). */
  readonly checkpoints: ReadonlyMap<number, number>;
  readonly peakMb: number;
  readonly restarts: Readonly<Record<string, number>>;
  readonly failed: number;
}

let docSeq = 700_000;

function checkpointsFor(jobs: number): number[] {
  return [...new Set([0, 100, 500, 1000, 2000, jobs].filter((n) => n <= jobs))];
}

async function soakRun(ctx: BenchContext, portalUrl: string, variant: Variant): Promise<SoakRun> {
  const config = ctx.config(
    {
      queues: {
        conferencia: { flow: 'conferencia', minWorkers: WORKERS, maxWorkers: WORKERS },
        emissao: { flow: 'echo' },
      },
      browser: variant.browser,
      shutdown: { timeoutSeconds: 15 },
    },
    { PORTAL_URL: portalUrl, RPA_USUARIO: DEMO_USER, RPA_SENHA: DEMO_PASSWORD },
  );
  const service = await startService(ctx, config, { conferencia: WORKERS }, 120_000);
  const restarts: Record<string, number> = {};
  const onRestart = (info: ServiceEventMap['browser-restart'][0]): void => {
    restarts[info.reason] = (restarts[info.reason] ?? 0) + 1;
  };
  service.events.on('browser-restart', onRestart);
  const marks = checkpointsFor(variant.jobs);
  const checkpoints = new Map<number, number>();
  const measuring: Promise<void>[] = [];
  const mark = (done: number): void => {
    if (!marks.includes(done)) return;
    measuring.push(
      browserTreesPssMb().then((trees) => {
        checkpoints.set(done, Math.max(0, ...trees));
        progress(`soak: ${variant.name}: ${done} jobs, unit trees PSS ${trees.join(' / ')} MB`);
      }),
    );
  };
  let done = 0;
  const onFinished = (info: { outcome: string }): void => {
    if (info.outcome === 'retry') return;
    done += 1;
    mark(done);
  };
  let peakMb = 0;
  const sampler = setInterval(() => {
    void browserTreesPssMb().then((trees) => {
      peakMb = Math.max(peakMb, ...trees);
    });
  }, 1000);
  try {
    mark(0);
    await Promise.all(measuring);
    service.events.on('job-finished', onFinished);
    const items = Array.from({ length: variant.jobs }, () => JSON.stringify({ documento: String((docSeq += 1)) }));
    const finished = whenFinished(service, variant.jobs);
    const started = performance.now();
    await pushItems(ctx.redis, 'fila:conferencia', items);
    const doneAt = await finished;
    await Promise.all(measuring);
    const entries = (await ctx.redis.lrange('fila:resultado', 0, -1)).map((e) => JSON.parse(e) as { status: string });
    return {
      jobsPerMin: (variant.jobs / ((doneAt - started) / 1000)) * 60,
      checkpoints,
      peakMb,
      restarts,
      failed: entries.filter((e) => e.status !== 'ok').length,
    };
  } finally {
    clearInterval(sampler);
    service.events.off('job-finished', onFinished);
    service.events.off('browser-restart', onRestart);
    await service.stop();
    await ctx.flush();
  }
}

export async function soakBench(ctx: BenchContext): Promise<Figure[]> {
  const jobs = Number(process.env.SOAK_JOBS ?? (ctx.quick ? 200 : 2000));
  const beforeJobs = Number(process.env.SOAK_BEFORE_JOBS ?? jobs);
  const base = `before: no GC, no memory bound, ${beforeJobs} jobs`;
  const variants: Variant[] = [
    { name: base, browser: { collectGarbageEveryJobs: 0, maxMemoryMb: 0, recycleAfterJobs: 500 }, jobs: beforeJobs },
    { name: `defaults, ${jobs} jobs`, browser: {}, jobs },
  ];
  // A soak is one long run: BENCH_RUNS does not repeat it, SOAK_RUNS does.
  const soakRuns = Number(process.env.SOAK_RUNS ?? 1);
  const runs = new Map<string, SoakRun[]>(variants.map((v) => [v.name, []]));
  const portal = await startPortal();
  try {
    await ctx.flush();
    for (let run = 1; run <= soakRuns; run++) {
      for (const variant of variants) {
        progress(`soak: run ${run}/${soakRuns}, ${variant.name}, ${WORKERS} workers`);
        runs.get(variant.name)?.push(await soakRun(ctx, portal.url, variant));
      }
    }
  } finally {
    await portal.close();
  }
  const inputs: FigureInput[] = [];
  for (const variant of variants) {
    const results = runs.get(variant.name) ?? [];
    const withBase = variant.name === base ? {} : { baseline: base };
    const reasons = [...new Set(results.flatMap((r) => Object.keys(r.restarts)))].sort();
    inputs.push({
      case: variant.name,
      metric: 'throughput',
      unit: 'jobs/min',
      values: results.map((r) => r.jobsPerMin),
      ...withBase,
      note:
        `${WORKERS} workers, conferencia via bridge + BullMQ, demo portal; PSS = largest unit's whole browser tree; ` +
        `failed jobs ${results.map((r) => r.failed).join('/')}; relaunches ` +
        (reasons.map((k) => `${k} ${results.map((r) => r.restarts[k] ?? 0).join('/')}`).join(', ') || 'none'),
    });
    for (const at of checkpointsFor(variant.jobs)) {
      inputs.push({
        case: variant.name,
        metric: `PSS/unit at job ${at}`,
        unit: 'MB',
        values: results.map((r) => r.checkpoints.get(at) ?? 0),
        ...withBase,
      });
    }
    inputs.push({
      case: variant.name,
      metric: 'PSS/unit peak',
      unit: 'MB',
      values: results.map((r) => r.peakMb),
      ...withBase,
    });
    for (const reason of ['crash', 'jobs', 'memory', 'unresponsive']) {
      inputs.push({
        case: variant.name,
        metric: `relaunches: ${reason}`,
        unit: 'count',
        values: results.map((r) => r.restarts[reason] ?? 0),
      });
    }
  }
  return figuresOf('soak', inputs);
}
