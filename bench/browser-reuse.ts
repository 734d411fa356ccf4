/**
 * Browser reuse: per-job time of the conferência flow against the demo portal when the worker
 * keeps its page (what WorkerUnit does), opens a new page per job in a kept context, opens a new
 * context per job (logs in every time), or launches a new browser per job.
 *
 *     npx tsx bench/browser-reuse.ts                      # 10 jobs per run, 3 runs per mode
 *     BENCH_JOBS=20 BENCH_RUNS=5 npx tsx bench/browser-reuse.ts
 *
 * Each run times BENCH_JOBS consecutive jobs after one untimed warm-up job (so the reused modes
 * start logged in, as a worker does after its first job). Per-job time = run time / jobs. Prints
 * median, min and max over the runs; writes bench/results/browser-reuse.json. Chromium from
 * BROWSER_EXECUTABLE_PATH, else the system one (see src/workers/browser-launch.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import type { BrowserConfig } from '../src/config/types.js';
import { startPortal } from '../src/demo/portal/server.js';
import type { PortalCredentials } from '../src/flows/flow.js';
import { resolveExecutablePath } from '../src/workers/browser-launch.js';
import { MODES, runJob, strategyFor, type Mode, type Strategy } from './lib/browser-strategies.js';

const jobs = Number(process.env.BENCH_JOBS ?? 10);
const runs = Number(process.env.BENCH_RUNS ?? 3);
const browserConfig: BrowserConfig = {
  executablePath: process.env.BROWSER_EXECUTABLE_PATH ?? '',
  headless: true,
  args: [],
  launchTimeoutMs: 30_000,
  recycleAfterJobs: 0,
  maxMemoryMb: 0,
  collectGarbageEveryJobs: 0,
  memoryCheckEveryJobs: 0,
};
const logger = winston.createLogger({ level: 'error', transports: [new winston.transports.Console()] });
const artifactsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-browser-reuse-'));

async function job(strategy: Strategy, portal: PortalCredentials): Promise<void> {
  await runJob(strategy, portal, logger, artifactsDir);
}

async function timeRun(mode: Mode, portal: PortalCredentials): Promise<number> {
  const strategy = await strategyFor(mode, browserConfig);
  try {
    await job(strategy, portal); // warm-up, not timed
    const started = performance.now();
    for (let i = 0; i < jobs; i++) await job(strategy, portal);
    return (performance.now() - started) / jobs;
  } finally {
    await strategy.close();
  }
}

const portalServer = await startPortal();
const portal: PortalCredentials = { url: portalServer.url, user: 'demo', password: 'demo123' };
const modes: readonly Mode[] = MODES;
const rows: { mode: Mode; medianMsPerJob: number; minMsPerJob: number; maxMsPerJob: number; runs: number }[] = [];
try {
  for (const mode of modes) {
    const perJob: number[] = [];
    for (let r = 0; r < runs; r++) perJob.push(await timeRun(mode, portal));
    const sorted = [...perJob].sort((a, b) => a - b);
    rows.push({
      mode,
      medianMsPerJob: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0),
      minMsPerJob: Math.round(sorted[0] ?? 0),
      maxMsPerJob: Math.round(sorted[sorted.length - 1] ?? 0),
      runs,
    });
  }
} finally {
  await portalServer.close();
  fs.rmSync(artifactsDir, { recursive: true, force: true });
}

const baseline = rows[0]?.medianMsPerJob ?? 1;
console.table(rows.map((row) => ({ ...row, vsReused: `${(row.medianMsPerJob / baseline).toFixed(1)}x` })));
const result = {
  benchmark: 'browser-reuse',
  flow: 'conferencia',
  jobsPerRun: jobs,
  runs,
  chromium: resolveExecutablePath(browserConfig.executablePath) ?? 'playwright default',
  cpus: os.cpus().length,
  at: new Date().toISOString(),
  rows,
};
const out = path.resolve('bench/results/browser-reuse.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), out)}`);
