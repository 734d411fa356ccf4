/**
 * The seed's scenario: 322 conferencia + 3 emissao echo jobs with a fixed sleepMs, run three ways:
 *   fixed 1+1       the seed's "before": one worker per queue (minWorkers = maxWorkers = 1);
 *   seed rule/tick  ceil(pending/50) applied only on the periodic tick (debounce = interval, so no
 *                   early evaluation when items arrive or jobs finish);
 *   our scaler      the same rule, also evaluated soon after the bridge moves items (debounce 1 s).
 * Time is scaled down consistently: sleepMs 100 on a 12 s tick stands for 500 ms on the seed's 60 s
 * tick (quick mode: 50 ms on 6 s). The burst arrives half a tick after the service started (its
 * first tick saw empty lists), the average wait for a burst that lands at a random moment.
 * Makespan: first push to the 325th result entry. Ideal: max over queues of ceil(jobs / W) * sleepMs,
 * W = workers the variant's rule gives the queue for its backlog (fixed: 1 and 1; rule: 7 and 1).
 */
import type { Service } from '../src/service/service.js';
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';

const CONFERENCIA = 322;
const EMISSAO = 3;

interface Variant {
  readonly name: string;
  readonly workers: { readonly conferencia: number; readonly emissao: number };
  overrides(tickSeconds: number): Record<string, unknown>;
}

const VARIANTS: readonly Variant[] = [
  {
    name: 'fixed 1+1 workers (seed before)',
    workers: { conferencia: 1, emissao: 1 },
    overrides: (tick) => ({
      queues: {
        conferencia: { flow: 'echo', minWorkers: 1, maxWorkers: 1 },
        emissao: { flow: 'echo', minWorkers: 1, maxWorkers: 1 },
      },
      scaler: { intervalSeconds: tick },
    }),
  },
  {
    name: 'seed rule on tick only',
    workers: { conferencia: 7, emissao: 1 },
    overrides: (tick) => ({
      queues: { conferencia: { flow: 'echo' }, emissao: { flow: 'echo' } },
      scaler: { intervalSeconds: tick, debounceMs: tick * 1000, stabilizationSeconds: tick },
    }),
  },
  {
    name: 'our scaler',
    workers: { conferencia: 7, emissao: 1 },
    overrides: (tick) => ({
      queues: { conferencia: { flow: 'echo' }, emissao: { flow: 'echo' } },
      scaler: { intervalSeconds: tick },
    }),
  },
];

interface RunResult {
  readonly makespanS: number;
  readonly firstScaleUpS: number | undefined;
  readonly peakWorkers: number;
}

async function oneRun(ctx: BenchContext, variant: Variant, sleepMs: number, tickSeconds: number): Promise<RunResult> {
  const config = ctx.config(variant.overrides(tickSeconds));
  const fixed = variant.workers.conferencia === 1;
  const service: Service = await startService(ctx, config, fixed ? { conferencia: 1, emissao: 1 } : {});
  const startedAt = performance.now();
  try {
    let firstScaleUp: number | undefined;
    const pool = service.pool;
    const live = (): number => (pool ? pool.counts('conferencia').live + pool.counts('emissao').live : 0);
    let peak = live();
    service.events.on('scaled', (e) => {
      if (e.action === 'up' && firstScaleUp === undefined) firstScaleUp = performance.now();
    });
    pool?.on('unit-state', () => {
      peak = Math.max(peak, live());
    });
    const wait = startedAt + (tickSeconds * 1000) / 2 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const finished = whenFinished(service, CONFERENCIA + EMISSAO);
    const pushedAt = performance.now();
    const job = (prefix: string) => (_: unknown, i: number) => JSON.stringify({ id: `${prefix}-${i}`, sleepMs });
    await pushItems(ctx.redis, 'fila:conferencia', Array.from({ length: CONFERENCIA }, job('c')));
    await pushItems(ctx.redis, 'fila:emissao', Array.from({ length: EMISSAO }, job('e')));
    const doneAt = await finished;
    return {
      makespanS: (doneAt - pushedAt) / 1000,
      firstScaleUpS: firstScaleUp === undefined ? undefined : (firstScaleUp - pushedAt) / 1000,
      peakWorkers: peak,
    };
  } finally {
    await service.stop();
    await ctx.flush();
  }
}

/** max over queues of ceil(jobs / workers) * sleepMs, in seconds. */
export function idealSeconds(workers: { conferencia: number; emissao: number }, sleepMs: number): number {
  return (
    (Math.max(Math.ceil(CONFERENCIA / workers.conferencia), Math.ceil(EMISSAO / workers.emissao)) * sleepMs) / 1000
  );
}

export async function scenarioBench(ctx: BenchContext): Promise<Figure[]> {
  const sleepMs = Number(process.env.BENCH_SCENARIO_SLEEP_MS ?? (ctx.quick ? 50 : 100));
  const tickSeconds = Number(process.env.BENCH_SCENARIO_TICK_S ?? (ctx.quick ? 6 : 12));
  const results = new Map<string, RunResult[]>(VARIANTS.map((v) => [v.name, []]));
  await ctx.flush();
  for (let run = 1; run <= ctx.runs; run++) {
    for (const variant of VARIANTS) {
      progress(`scenario: run ${run}/${ctx.runs}, ${variant.name} (sleepMs ${sleepMs}, tick ${tickSeconds} s)`);
      results.get(variant.name)?.push(await oneRun(ctx, variant, sleepMs, tickSeconds));
    }
  }
  const baseline = VARIANTS[0]?.name ?? '';
  const inputs: FigureInput[] = [];
  for (const variant of VARIANTS) {
    const runs = results.get(variant.name) ?? [];
    const ideal = idealSeconds(variant.workers, sleepMs);
    inputs.push({
      case: variant.name,
      metric: 'makespan',
      unit: 's',
      values: runs.map((r) => r.makespanS),
      ...(variant.name !== baseline ? { baseline } : {}),
      note:
        `${CONFERENCIA}+${EMISSAO} echo jobs, sleepMs ${sleepMs}, tick ${tickSeconds} s (time scaled 1/${60 / tickSeconds}: the seed's 60 s tick), ` +
        `burst half a tick after start; ideal = ceil(${CONFERENCIA}/${variant.workers.conferencia})*${sleepMs} ms = ${ideal} s`,
    });
    inputs.push({
      case: variant.name,
      metric: 'makespan / ideal',
      unit: 'x',
      values: runs.map((r) => r.makespanS / ideal),
    });
    if (variant.name !== baseline) {
      inputs.push({
        case: variant.name,
        metric: 'burst → first [ESCALAR]',
        unit: 's',
        values: runs.flatMap((r) => (r.firstScaleUpS === undefined ? [] : [r.firstScaleUpS])),
      });
    }
    inputs.push({ case: variant.name, metric: 'peak workers', unit: 'n', values: runs.map((r) => r.peakWorkers) });
  }
  return figuresOf('scenario', inputs);
}
