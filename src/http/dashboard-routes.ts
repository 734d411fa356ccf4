import path from 'node:path';
import type { Queue } from 'bullmq';
import { serveArtifacts } from './artifacts-route.js';
import express, { type Router } from 'express';
import type { OutcomeWindow } from '../alerts/outcome-window.js';
import type { Logger } from '../logging/logger.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { StatusSource } from '../service/status.js';
import { recentFailures } from './failures.js';
import { resolveChartJs, resolvePublicDir } from './static-assets.js';

/** Options for {@link dashboardRoutes}. */
export interface DashboardRoutesOptions {
  readonly status: StatusSource;
  readonly queues: readonly Queue[];
  readonly artifactsDir: string;
  /** Job outcomes of the last minute at least (completion rate). */
  readonly outcomes: OutcomeWindow;
  readonly logger: Logger;
  /** How far back the chart goes. @defaultValue 3_600_000 (1 h) */
  readonly historyMs?: number;
}

/** Redis down: answer the page with what is known instead of hanging its poll. */
const REDIS_READ_TIMEOUT_MS = 3000;

/** What `/api/dashboard` returns besides `/api/status`: the slower-moving parts of the page. */
export interface DashboardData {
  readonly now: number;
  readonly sinceMs: number;
  /** Scaling decisions since `sinceMs`, oldest first: the chart's history. */
  readonly decisions: Awaited<ReturnType<StatusSource['decisionsSince']>>;
  readonly failures: Awaited<ReturnType<typeof recentFailures>>;
  /** Per queue: jobs completed (outcome ok) and attempts failed in the last 60 s. */
  readonly lastMinute: Record<string, { readonly completed: number; readonly failed: number }>;
}

/**
 * The dashboard: `/` (page), `/assets/*` (its script, style and chart.js), `/api/dashboard`
 * (history, failures, completion rate) and `/artifacts/*` (failure screenshots). Mounted behind
 * basic auth when it is configured.
 */
export function dashboardRoutes(options: DashboardRoutesOptions): Router {
  const publicDir = resolvePublicDir();
  const chartJs = resolveChartJs();
  const historyMs = options.historyMs ?? 3_600_000;
  const router = express.Router();

  router.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(path.join(publicDir, 'index.html'));
  });
  router.get('/assets/chart.umd.min.js', (_req, res) => {
    res.sendFile(chartJs);
  });
  router.use('/assets', express.static(publicDir, { index: false, dotfiles: 'deny' }));
  router.use('/artifacts', serveArtifacts(options.artifactsDir));

  router.get('/api/dashboard', async (_req, res) => {
    const now = Date.now();
    const sinceMs = now - historyMs;
    const [decisions, failures] = await Promise.all([
      withTimeout(options.status.decisionsSince(sinceMs), REDIS_READ_TIMEOUT_MS, 'decision history').catch(
        (err: unknown) => {
          options.logger.debug(`dashboard: decision history unavailable: ${String(err)}`);
          return [];
        },
      ),
      withTimeout(
        recentFailures({ queues: options.queues, artifactsDir: options.artifactsDir }),
        REDIS_READ_TIMEOUT_MS,
        'failed jobs',
      ).catch((err: unknown) => {
        options.logger.debug(`dashboard: failed jobs unavailable: ${String(err)}`);
        return [];
      }),
    ]);
    const lastMinute: Record<string, { completed: number; failed: number }> = {};
    for (const name of new Set([...options.queues.map((q) => q.name), ...options.outcomes.queueNames()])) {
      const c = options.outcomes.counts(name, 60_000);
      lastMinute[name] = { completed: c.ok, failed: c.error + c.retry };
    }
    const body: DashboardData = { now, sinceMs, decisions, failures, lastMinute };
    res.set('Cache-Control', 'no-store').json(body);
  });

  return router;
}
