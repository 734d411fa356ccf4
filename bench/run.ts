/**
 * The benchmark suite: `npm run bench [-- <name>...] [--quick]`. See bench/README.md.
 * Prints progress on stderr, the results table on stdout, and writes bench/results/latest.json
 * (a full run; `--quick` and subset runs write quick.json / partial.json instead).
 */
import fs from 'node:fs';
import path from 'node:path';
import { openContext, type BenchContext } from './lib/context.js';
import { formatTable, type Figure } from './lib/figures.js';
import { formatMachine, machineInfo } from './lib/machine.js';
import { progress } from './lib/progress.js';
import { browserThroughputBench } from './browser-throughput.js';
import { instancesBench } from './instances.js';
import { capacityBench } from './capacity.js';
import { failoverBench } from './failover.js';
import { dashboardBench } from './dashboard.js';
import { pipelineBench } from './pipeline.js';
import { priorityBench } from './priority.js';
import { redisFootprintBench } from './redis-footprint.js';
import { scaleUpBench } from './scale-up.js';
import { scenarioBench } from './scenario.js';
import { soakBench } from './soak.js';

type Bench = (ctx: BenchContext) => Promise<Figure[]>;

const BENCHES: Readonly<Record<string, Bench>> = {
  pipeline: pipelineBench,
  scenario: scenarioBench,
  priority: priorityBench,
  'scale-up': scaleUpBench,
  browser: browserThroughputBench,
  capacity: capacityBench,
  soak: soakBench,
  instances: instancesBench,
  'redis-footprint': redisFootprintBench,
  failover: failoverBench,
  dashboard: dashboardBench,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const selected = names.length > 0 ? names : Object.keys(BENCHES);
const runs = Number(process.env.BENCH_RUNS ?? (quick ? 1 : 3));

const machine = machineInfo();
const startedAt = new Date();
const t0 = performance.now();
progress(`${quick ? 'QUICK (smoke) run' : 'full run'}: ${selected.join(', ')}; ${runs} run(s) per figure`);
const ctx = await openContext({ quick, runs });
const figures: Figure[] = [];
const failures: { bench: string; error: string }[] = [];
const durations: Record<string, number> = {};
try {
  for (const name of selected) {
    const bench = BENCHES[name];
    if (!bench) continue;
    const started = performance.now();
    progress(`── ${name} ──`);
    try {
      figures.push(...(await bench(ctx)));
    } catch (err) {
      const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      failures.push({ bench: name, error });
      progress(`${name} FAILED: ${error}`);
    }
    durations[name] = Math.round((performance.now() - started) / 1000);
    progress(`${name} took ${durations[name]} s`);
  }
} finally {
  await ctx.close();
}
const totalSeconds = Math.round((performance.now() - t0) / 1000);

const label = quick ? 'QUICK SMOKE RUN (1 run, fewer items: not a measurement)' : `median of ${runs} runs [min, max]`;
console.log(`\n${formatMachine(machine)}`);
console.log(`${label}; started ${startedAt.toISOString()}, took ${totalSeconds} s`);
console.log(`\n${formatTable(figures)}\n`);
for (const f of figures.filter((x) => x.note)) console.log(`  ${f.bench} / ${f.case}: ${f.note ?? ''}`);
if (failures.length > 0) console.log(`\nFAILED: ${failures.map((f) => f.bench).join(', ')}`);

// Only a full run of every benchmark replaces latest.json; smoke and subset runs go beside it.
const complete = !quick && selected.length === Object.keys(BENCHES).length;
const out = path.resolve(complete ? 'bench/results/latest.json' : `bench/results/${quick ? 'quick' : 'partial'}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(
  out,
  `${JSON.stringify({ quick, runs, startedAt, totalSeconds, durations, machine, figures, failures }, null, 2)}\n`,
);
console.log(`\nwritten to ${path.relative(process.cwd(), out)}`);
process.exit(failures.length > 0 ? 1 : 0);
