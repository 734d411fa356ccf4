/**
 * Scale-up reaction: a burst of 322 conferencia items (real flow, demo portal) into an idle
 * service (0 workers) until 7 worker units are ready with their Chromium launched. Reports the
 * time to the [ESCALAR] decision and to 7 ready units. Baselines in the same run: launching 7
 * Chromiums (launch + context + page, the same options a unit uses) one after another in a loop,
 * and all 7 at once (what the pool does).
 */
import { chromium, type Browser } from 'playwright';
import type { BrowserConfig } from '../src/config/types.js';
import { startPortal, DEMO_PASSWORD, DEMO_USER } from '../src/demo/portal/server.js';
import { launchOptionsFor } from '../src/workers/browser-launch.js';
import { pushItems, startService, type BenchContext } from './lib/context.js';
import { figuresOf, type Figure } from './lib/figures.js';
import { progress } from './lib/progress.js';

const BURST = 322;
const UNITS = 7;

async function launchOne(config: BrowserConfig): Promise<Browser> {
  const browser = await chromium.launch(launchOptionsFor(config));
  const context = await browser.newContext({ acceptDownloads: true });
  await context.newPage();
  return browser;
}

async function launchLoop(config: BrowserConfig, concurrent: boolean): Promise<number> {
  const started = performance.now();
  const browsers: Browser[] = [];
  try {
    if (concurrent) {
      const settled = await Promise.allSettled(Array.from({ length: UNITS }, () => launchOne(config)));
      for (const s of settled) if (s.status === 'fulfilled') browsers.push(s.value);
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed?.status === 'rejected') throw failed.reason;
    } else {
      for (let i = 0; i < UNITS; i++) browsers.push(await launchOne(config));
    }
    return (performance.now() - started) / 1000;
  } finally {
    await Promise.allSettled(browsers.map((b) => b.close()));
  }
}

async function serviceRun(ctx: BenchContext, portalUrl: string): Promise<{ decisionS: number; readyS: number }> {
  const config = ctx.config(
    { queues: { conferencia: { flow: 'conferencia' }, emissao: { flow: 'echo' } }, shutdown: { timeoutSeconds: 10 } },
    { PORTAL_URL: portalUrl, RPA_USUARIO: DEMO_USER, RPA_SENHA: DEMO_PASSWORD },
  );
  const service = await startService(ctx, config);
  // An idle service: its start-up evaluation lies further back than the 1 s debounce.
  await new Promise((r) => setTimeout(r, config.scaler.debounceMs + 500));
  try {
    const pool = service.pool;
    if (!pool) throw new Error('service has no pool');
    let decisionAt: number | undefined;
    const ready = new Set<string>();
    const allReady = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${UNITS} units not ready after 120 s`)), 120_000);
      pool.on('unit-state', (queue, unit, state) => {
        if (queue !== 'conferencia' || state !== 'ready') return;
        ready.add(unit);
        if (ready.size === UNITS) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      });
    });
    service.events.on('scaled', (e) => {
      if (e.queue === 'conferencia' && e.action === 'up' && e.to >= UNITS) decisionAt ??= performance.now();
    });
    const items = Array.from({ length: BURST }, (_, i) =>
      JSON.stringify({ id: `c-${i}`, documento: `${100_000 + i}` }),
    );
    const pushedAt = performance.now();
    await pushItems(ctx.redis, 'fila:conferencia', items);
    const readyAt = await allReady;
    if (decisionAt === undefined) throw new Error('no [ESCALAR] decision to 7 workers was seen');
    return { decisionS: (decisionAt - pushedAt) / 1000, readyS: (readyAt - pushedAt) / 1000 };
  } finally {
    await service.stop();
    await ctx.flush();
  }
}

export async function scaleUpBench(ctx: BenchContext): Promise<Figure[]> {
  const portal = await startPortal();
  const browserConfig = ctx.config({}).browser;
  const seq: number[] = [];
  const conc: number[] = [];
  const decision: number[] = [];
  const ready: number[] = [];
  try {
    await ctx.flush();
    for (let run = 1; run <= ctx.runs; run++) {
      progress(`scale-up: run ${run}/${ctx.runs}, ${UNITS} Chromiums launched in a loop`);
      seq.push(await launchLoop(browserConfig, false));
      progress(`scale-up: run ${run}/${ctx.runs}, ${UNITS} Chromiums launched at once`);
      conc.push(await launchLoop(browserConfig, true));
      progress(`scale-up: run ${run}/${ctx.runs}, service: burst of ${BURST} → ${UNITS} ready units`);
      const r = await serviceRun(ctx, portal.url);
      decision.push(r.decisionS);
      ready.push(r.readyS);
    }
  } finally {
    await portal.close();
  }
  const loop = `launch ${UNITS} Chromiums in a loop`;
  return figuresOf('scale-up', [
    { case: loop, metric: 'time', unit: 's', values: seq, note: 'launch + context + page, unit launch options' },
    { case: `launch ${UNITS} Chromiums at once`, metric: 'time', unit: 's', values: conc, baseline: loop },
    { case: 'service: burst → [ESCALAR] to 7', metric: 'time', unit: 's', values: decision },
    {
      case: `service: burst → ${UNITS} units ready`,
      metric: 'time',
      unit: 's',
      values: ready,
      baseline: loop,
      note: `${BURST} conferencia items pushed into a service idle for debounce + 0.5 s (0 workers), real flow against the demo portal`,
    },
  ]);
}
