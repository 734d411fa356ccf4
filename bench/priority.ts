/**
 * Priority in the seed's scenario: 322 conferencia + 3 emissao echo jobs (sleepMs 100 stands for
 * the seed's ~500 ms, as in scenario.ts), 10 % of the conferencia items (every tenth) marked
 * `prioridade: "alta"`, pushed in one burst, run by our scaler (7 + 1 workers). Wait = the job's
 * start (result entry `startedAt`) minus the push. Reported: p95 and median wait of the alta and
 * the normal conferencia items, with and without the field (plain FIFO, the baseline: there the
 * "alta" items are just the same every-tenth items).
 */
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { progress } from './lib/progress.js';
import { quantile } from './lib/stats.js';

const CONFERENCIA = 322;
const EMISSAO = 3;

interface RunResult {
  readonly alta: number[];
  readonly normal: number[];
}

const isAlta = (i: number): boolean => i % 10 === 5;

async function oneRun(ctx: BenchContext, withPriority: boolean, sleepMs: number): Promise<RunResult> {
  const config = ctx.config({ queues: { conferencia: { flow: 'echo' }, emissao: { flow: 'echo' } } });
  const service = await startService(ctx, config);
  try {
    const finished = whenFinished(service, CONFERENCIA + EMISSAO);
    const pushedAt = Date.now();
    await pushItems(
      ctx.redis,
      'fila:conferencia',
      Array.from({ length: CONFERENCIA }, (_, i) =>
        JSON.stringify({ id: `c-${i}`, sleepMs, ...(withPriority && isAlta(i) ? { prioridade: 'alta' } : {}) }),
      ),
    );
    await pushItems(
      ctx.redis,
      'fila:emissao',
      Array.from({ length: EMISSAO }, (_, i) => JSON.stringify({ id: `e-${i}`, sleepMs })),
    );
    await finished;
    const entries = (await ctx.redis.lrange('fila:resultado', 0, -1)).map(
      (t) => JSON.parse(t) as { id: string; queue: string; startedAt: string },
    );
    const alta: number[] = [];
    const normal: number[] = [];
    for (const e of entries) {
      if (e.queue !== 'conferencia') continue;
      const wait = (Date.parse(e.startedAt) - pushedAt) / 1000;
      (isAlta(Number(e.id.slice(2))) ? alta : normal).push(wait);
    }
    return { alta, normal };
  } finally {
    await service.stop();
    await ctx.flush();
  }
}

export async function priorityBench(ctx: BenchContext): Promise<Figure[]> {
  const sleepMs = Number(process.env.BENCH_SCENARIO_SLEEP_MS ?? (ctx.quick ? 50 : 100));
  const variants = [
    { name: 'FIFO, no prioridade (baseline)', withPriority: false },
    { name: 'prioridade alta on 10 %', withPriority: true },
  ];
  const results = new Map<string, RunResult[]>(variants.map((v) => [v.name, []]));
  await ctx.flush();
  for (let run = 1; run <= ctx.runs; run++) {
    for (const v of variants) {
      progress(`priority: run ${run}/${ctx.runs}, ${v.name} (sleepMs ${sleepMs})`);
      results.get(v.name)?.push(await oneRun(ctx, v.withPriority, sleepMs));
    }
  }
  const baseline = variants[0]?.name ?? '';
  const inputs: FigureInput[] = [];
  for (const v of variants) {
    const runs = results.get(v.name) ?? [];
    for (const group of ['alta', 'normal'] as const) {
      inputs.push({
        case: v.name,
        metric: `p95 wait, ${group} items`,
        unit: 's',
        values: runs.map((r) => quantile(r[group], 0.95)),
        ...(v.name !== baseline ? { baseline } : {}),
        ...(group === 'alta'
          ? {
              note: `${CONFERENCIA}+${EMISSAO} echo jobs, sleepMs ${sleepMs}, one burst, our scaler; every tenth conferencia item is the "alta" group (${Math.ceil(CONFERENCIA / 10)} items); wait = startedAt - push`,
            }
          : {}),
      });
      inputs.push({
        case: v.name,
        metric: `median wait, ${group} items`,
        unit: 's',
        values: runs.map((r) => quantile(r[group], 0.5)),
        ...(v.name !== baseline ? { baseline } : {}),
      });
    }
  }
  return figuresOf('priority', inputs);
}
