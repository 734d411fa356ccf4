/**
 * Capacity: the seed's scenario (322 conferencia + 3 emissao, the real flows in real Chromium
 * against the demo portal, in this process) through the real Service, run as
 *   (a) plain rule      capacity.enabled false: ceil(pending/50) → 7 + 1 browsers;
 *   (b) capacity        the default capacity.* (cores not used by others, start gate);
 *   (c) fixed N         conferencia minWorkers = maxWorkers = N (N = 1, 2, 3, 4, 7), capacity off;
 *   (d) memory budget   capacity with capacity.maxMemoryMb below 7 browsers (BENCH_CAPACITY_BUDGET_MB, 350).
 * Per run: makespan (first push to the 325th result), p50/p95 of the entries' durationMs, peak PSS
 * of all browsers (sampled every second), CPU-seconds of this process tree (Node + portal +
 * Chromium) and the machine's mean CPU use over the run, failed jobs and peak workers.
 * BENCH_CAPACITY_VARIANTS=a,b,c1,c2,... picks variants (default all). Every variant starts with no
 * warm browser: launches count in the makespan for all.
 */
import fs from 'node:fs';
import os from 'node:os';
import { TreeCpu } from '../src/capacity/tree-cpu.js';
import { parseProcStat } from '../src/capacity/cpu-signal.js';
import { startPortal, DEMO_PASSWORD, DEMO_USER } from '../src/demo/portal/server.js';
import type { Service } from '../src/service/service.js';
import { pushItems, startService, whenFinished, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure, type FigureInput } from './lib/figures.js';
import { CpuSplit } from './lib/cpu-split.js';
import { browserMemoryMb } from './lib/memory.js';
import { progress } from './lib/progress.js';
import { quantile } from './lib/stats.js';

const CONFERENCIA = 322;
const EMISSAO = 3;

interface Variant {
  readonly key: string;
  readonly name: string;
  readonly overrides: Record<string, unknown>;
}

function variants(budgetMb: number): Variant[] {
  const queues = (n?: number) => ({
    conferencia: n === undefined ? { flow: 'conferencia' } : { flow: 'conferencia', minWorkers: n, maxWorkers: n },
    emissao: { flow: 'emissao' },
  });
  return [
    { key: 'a', name: '(a) plain rule', overrides: { queues: queues(), capacity: { enabled: false } } },
    { key: 'b', name: '(b) capacity', overrides: { queues: queues() } },
    ...[1, 2, 3, 4, 7].map((n) => ({
      key: `c${n}`,
      name: `(c) fixed N=${n}`,
      overrides: { queues: queues(n), capacity: { enabled: false } },
    })),
    {
      key: 'd',
      name: `(d) capacity, budget ${budgetMb} MB`,
      overrides: { queues: queues(), capacity: { maxMemoryMb: budgetMb } },
    },
  ];
}

interface RunResult {
  readonly makespanS: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly peakPssMb: number;
  readonly cpuSeconds: number;
  readonly machineCpuPct: number;
  /** Mean cores used by processes outside this process tree (other engineers' load). */
  readonly otherCores: number;
  readonly failed: number;
  readonly peakWorkers: number;
  /** CPU ms per job: this Node process (service + in-process portal), Chromium, Redis. */
  readonly msPerJob: Record<string, number>;
}

function machineCpu(): { busy: number; total: number } {
  const s = parseProcStat(fs.readFileSync('/proc/stat', 'utf8'));
  return { busy: s?.busySeconds ?? 0, total: s?.totalSeconds ?? 0 };
}

let docSeq = 700_000;

async function oneRun(ctx: BenchContext, portalUrl: string, variant: Variant): Promise<RunResult> {
  const config = ctx.config(
    { ...variant.overrides, shutdown: { timeoutSeconds: 15 } },
    { PORTAL_URL: portalUrl, RPA_USUARIO: DEMO_USER, RPA_SENHA: DEMO_PASSWORD },
  );
  const service: Service = await startService(ctx, config, {}, 120_000);
  const own = new TreeCpu();
  let peakPss = 0;
  let peakWorkers = 0;
  const pool = service.pool;
  pool?.on('unit-state', () => {
    peakWorkers = Math.max(peakWorkers, pool.totalCounted());
  });
  let split: CpuSplit | undefined;
  const sample = async (): Promise<void> => {
    split?.sample();
    // Every second, not only at both ends: a browser retired before the end keeps the CPU it used.
    if (split) own.read();
    peakPss = Math.max(peakPss, (await browserMemoryMb()).pssMb);
  };
  const sampler = setInterval(() => void sample(), 1000);
  try {
    const finished = whenFinished(service, CONFERENCIA + EMISSAO);
    split = new CpuSplit();
    const cpu0 = own.read().cpuSeconds;
    const m0 = machineCpu();
    const pushedAt = performance.now();
    const doc = (): string => String((docSeq += 1));
    await pushItems(
      ctx.redis,
      'fila:conferencia',
      Array.from({ length: CONFERENCIA }, () => JSON.stringify({ documento: doc() })),
    );
    await pushItems(
      ctx.redis,
      'fila:emissao',
      Array.from({ length: EMISSAO }, () => JSON.stringify({ documento: doc(), tipo: 'certidao' })),
    );
    const doneAt = await finished;
    const cpu1 = own.read().cpuSeconds;
    const m1 = machineCpu();
    await sample();
    const bySplit = split.seconds();
    const entries = (await ctx.redis.lrange('fila:resultado', 0, -1)).map(
      (e) => JSON.parse(e) as { status: string; durationMs: number },
    );
    const durations = entries.map((e) => e.durationMs);
    return {
      makespanS: (doneAt - pushedAt) / 1000,
      p50Ms: quantile(durations, 0.5),
      p95Ms: quantile(durations, 0.95),
      peakPssMb: peakPss,
      cpuSeconds: cpu1 - cpu0,
      machineCpuPct: m1.total > m0.total ? ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 : Number.NaN,
      otherCores: Math.max(
        0,
        ((m1.busy - m0.busy) / Math.max(1e-9, m1.total - m0.total)) * os.availableParallelism() -
          (cpu1 - cpu0) / ((doneAt - pushedAt) / 1000),
      ),
      failed: entries.filter((e) => e.status !== 'ok').length,
      peakWorkers,
      msPerJob: Object.fromEntries(
        Object.entries(bySplit).map(([k, v]) => [k, Math.round((v * 1000) / (CONFERENCIA + EMISSAO))]),
      ),
    };
  } finally {
    clearInterval(sampler);
    await service.stop();
    await ctx.flush();
  }
}

export async function capacityBench(ctx: BenchContext): Promise<Figure[]> {
  const budgetMb = Number(process.env.BENCH_CAPACITY_BUDGET_MB ?? 350);
  const wanted = (process.env.BENCH_CAPACITY_VARIANTS ?? '').split(',').filter(Boolean);
  const selected = variants(budgetMb).filter((v) => wanted.length === 0 || wanted.includes(v.key));
  const portal = await startPortal();
  const results = new Map<string, RunResult[]>(selected.map((v) => [v.name, []]));
  try {
    await ctx.flush();
    for (let run = 1; run <= ctx.runs; run++) {
      for (const variant of selected) {
        progress(`capacity: run ${run}/${ctx.runs}, ${variant.name}`);
        const r = await oneRun(ctx, portal.url, variant);
        progress(
          `  makespan ${r.makespanS.toFixed(1)} s, p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, peak PSS ${r.peakPssMb} MB, ` +
            `CPU ${r.cpuSeconds.toFixed(1)} s (machine ${r.machineCpuPct.toFixed(0)}%, others ${r.otherCores.toFixed(1)} cores), peak workers ${r.peakWorkers}, failed ${r.failed}, CPU ms/job ${JSON.stringify(r.msPerJob)}`,
        );
        results.get(variant.name)?.push(r);
      }
    }
  } finally {
    await portal.close();
  }
  const inputs: FigureInput[] = [];
  const baseline = selected.find((v) => v.key === 'a')?.name;
  for (const variant of selected) {
    const runs = results.get(variant.name) ?? [];
    const vs = baseline && variant.name !== baseline ? { baseline } : {};
    const metric = (m: string, unit: string, f: (r: RunResult) => number, extra: object = {}): void => {
      inputs.push({ case: variant.name, metric: m, unit, values: runs.map(f), ...vs, ...extra });
    };
    metric('makespan', 's', (r) => r.makespanS, {
      note: `${CONFERENCIA} conferencia + ${EMISSAO} emissao, real flows, demo portal in-process`,
    });
    metric('job p50', 'ms', (r) => r.p50Ms);
    metric('job p95', 'ms', (r) => r.p95Ms);
    metric('peak browsers PSS', 'MB', (r) => r.peakPssMb);
    metric('CPU (Node+portal+Chromium)', 's', (r) => r.cpuSeconds);
    metric('machine CPU', '%', (r) => r.machineCpuPct);
    metric("others' cores (machine busy − ours)", 'cores', (r) => r.otherCores);
    metric('peak workers', 'n', (r) => r.peakWorkers);
    for (const kind of ['node', 'chromium', 'redis'])
      metric(`CPU per job: ${kind}`, 'ms', (r) => r.msPerJob[kind] ?? 0);
    metric('failed jobs', 'n', (r) => r.failed);
  }
  return figuresOf('capacity', inputs);
}
