/**
 * Pipeline overhead: echo items (no sleep) from `fila:conferencia` to `fila:resultado` through the
 * real Service (bridge + BullMQ + K worker units), against the seed's design in the same process:
 * K loops of BLPOP → RPUSH on plain lists. Timed from the first RPUSH of the items to the last
 * result entry written.
 */
import { Redis } from 'ioredis';
import { echoFlow } from '../src/flows/echo.js';
import { buildResultEntry } from '../src/workers/result-entry.js';
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';
import { startCostMeter, type CostPerJob } from './lib/redis-cost.js';

interface RunResult {
  readonly jobsPerSecond: number;
  readonly cost: CostPerJob;
}

const SOURCE = 'fila:conferencia';
const RESULTS = 'fila:resultado';

function itemsFor(count: number): string[] {
  return Array.from({ length: count }, (_, n) =>
    JSON.stringify({ id: `doc-${n}`, cnpj: '12.345.678/0001-90', competencia: '2024-05', n }),
  );
}

/** The seed's executor: K connections, each BLPOP → run the flow → RPUSH the result entry. */
async function rawRun(ctx: BenchContext, k: number, items: readonly string[]): Promise<RunResult> {
  const clients = Array.from({ length: k }, () => new Redis({ host: '127.0.0.1', port: ctx.redisPort }));
  await Promise.all(clients.map((c) => c.ping()));
  let done = 0;
  let finishedAt = 0;
  const stop = new AbortController();
  const loop = async (client: Redis, w: number): Promise<void> => {
    while (!stop.signal.aborted) {
      const popped = await client.blpop(SOURCE, 1);
      if (!popped) continue;
      const startedAtMs = Date.now();
      const data = JSON.parse(popped[1]) as Record<string, unknown>;
      const result = await echoFlow.run({
        page: null,
        data,
        portal: { url: '', user: '', password: '' },
        logger: ctx.logger,
        signal: stop.signal,
        artifactsDir: ctx.tmpDir,
        jobId: String(data.n),
      });
      // The seed wrote its result with a plain RPUSH.
      const entry = buildResultEntry({
        data,
        jobId: String(data.n),
        queue: 'conferencia',
        worker: `raw-${w}`,
        attempts: 1,
        startedAtMs,
        finishedAtMs: Date.now(),
        outcome: { status: 'ok', result },
      });
      await client.rpush(RESULTS, JSON.stringify(entry));
      done += 1;
      if (done === items.length) {
        finishedAt = performance.now();
        stop.abort();
      }
    }
  };
  const meter = await startCostMeter(ctx.redis);
  const started = performance.now();
  const loops = clients.map((c, w) => loop(c, w));
  await pushItems(ctx.redis, SOURCE, items);
  await Promise.all(loops);
  const cost = await meter.stop(items.length);
  for (const c of clients) c.disconnect();
  await checkResults(ctx, items.length);
  return { jobsPerSecond: items.length / ((finishedAt - started) / 1000), cost };
}

async function serviceRun(ctx: BenchContext, k: number, items: readonly string[]): Promise<RunResult> {
  const config = ctx.config({
    queues: {
      conferencia: { flow: 'echo', minWorkers: k, maxWorkers: k, attempts: 1 },
      emissao: { flow: 'echo', minWorkers: 0, maxWorkers: 1 },
    },
    // Fixed K: the capacity bound would hold K=10 at the machine's free cores (2 here).
    capacity: { enabled: false },
  });
  const service = await startService(ctx, config, { conferencia: k });
  try {
    const finished = whenFinished(service, items.length);
    const meter = await startCostMeter(ctx.redis);
    const started = performance.now();
    await pushItems(ctx.redis, SOURCE, items);
    const finishedAt = await finished;
    const cost = await meter.stop(items.length);
    await checkResults(ctx, items.length);
    return { jobsPerSecond: items.length / ((finishedAt - started) / 1000), cost };
  } finally {
    await service.stop();
  }
}

async function checkResults(ctx: BenchContext, expected: number): Promise<void> {
  const found = await ctx.redis.llen(RESULTS);
  if (found !== expected) throw new Error(`expected ${expected} result entries, found ${found}`);
  await ctx.flush();
}

const COST_METRICS: readonly (readonly [string, string, (r: RunResult) => number])[] = [
  ['redis commands/job', 'n', (r) => r.cost.redisCommands],
  ['lua script calls/job', 'n', (r) => r.cost.scriptCalls],
  ['redis cpu/job', 'ms', (r) => r.cost.redisCpuMs],
  ['node cpu/job', 'ms', (r) => r.cost.nodeCpuMs],
];

export async function pipelineBench(ctx: BenchContext): Promise<Figure[]> {
  const count = Number(process.env.BENCH_PIPELINE_ITEMS ?? (ctx.quick ? 2000 : 20_000));
  const items = itemsFor(count);
  const ks = [1, 10];
  const raw = new Map<number, RunResult[]>(ks.map((k) => [k, []]));
  const svc = new Map<number, RunResult[]>(ks.map((k) => [k, []]));
  await ctx.flush();
  // Interleaved (raw, service) per K and run, so drift in the machine's load hits both alike.
  for (let run = 1; run <= ctx.runs; run++) {
    for (const k of ks) {
      progress(`pipeline: run ${run}/${ctx.runs}, K=${k}, raw loop, ${count} items`);
      raw.get(k)?.push(await rawRun(ctx, k, items));
      progress(`pipeline: run ${run}/${ctx.runs}, K=${k}, service, ${count} items`);
      svc.get(k)?.push(await serviceRun(ctx, k, items));
    }
  }
  const inputs: FigureInput[] = [];
  const of = (runs: RunResult[] | undefined, pick: (r: RunResult) => number): number[] => (runs ?? []).map(pick);
  for (const k of ks) {
    const base = `raw BLPOP→RPUSH K=${k}`;
    const service = `service K=${k}`;
    inputs.push({ case: base, metric: 'throughput', unit: 'jobs/s', values: of(raw.get(k), (r) => r.jobsPerSecond) });
    inputs.push({
      case: service,
      metric: 'throughput',
      unit: 'jobs/s',
      values: of(svc.get(k), (r) => r.jobsPerSecond),
      baseline: base,
      note: `${count} echo items, bridge + BullMQ + ${k} worker unit(s), first push to last result entry`,
    });
    for (const [metric, unit, pick] of COST_METRICS) {
      inputs.push({ case: base, metric, unit, values: of(raw.get(k), pick) });
      inputs.push({ case: service, metric, unit, values: of(svc.get(k), pick), baseline: base });
    }
  }
  return figuresOf('pipeline', inputs);
}
