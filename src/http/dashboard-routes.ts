import path from 'node:path';
import type { Queue } from 'bullmq';
import { serveArtifacts } from './artifacts-route.js';
import express, { type Router } from 'express';
import type { OutcomeWindow } from '../shared/outcome-window.js';
import type { Logger } from '../logging/logger.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { DecisionRecord } from '../shared/decision-record.js';
import type { StatusSource } from '../shared/status.js';
import { decisionRows, thinDecisions, type DecisionRow } from './decision-rows.js';
import { recentFailures } from './failures.js';
import type { JobMinutes, MinutePoint } from './job-minutes.js';
import { resolveChartJs, resolvePublicDir } from './static-assets.js';
import { MAX_RANGE_MS, parseRange, rangeWindow, type LoadMoment, type TimeRange } from './time-range.js';

/** Options for {@link dashboardRoutes}. */
export interface DashboardRoutesOptions {
  readonly status: StatusSource;
  readonly queues: readonly Queue[];
  readonly artifactsDir: string;
  /** Job outcomes of the last minute at least (completion rate). */
  readonly outcomes: OutcomeWindow;
  /** Completions, failures and job times per minute (the charts). */
  readonly minutes: JobMinutes;
  readonly logger: Logger;
}

/** Redis down: answer the page with what is known instead of hanging its poll. */
const REDIS_READ_TIMEOUT_MS = 3000;
/** Points per queue chart; a day of decisions is thinned to this. */
const MAX_CHART_POINTS = 400;
/** Rows of the decisions table per queue. */
const DECISION_ROWS = 10;
/** The table looks back at least this far, whatever the chart's range. */
const ROWS_LOOKBACK_MS = 3_600_000;

/** One queue's part of `/api/dashboard`. */
export interface QueueHistory {
  /** Decisions in the window, oldest first, thinned: pending and workers over time. */
  readonly decisions: readonly DecisionRecord[];
  /** Minutes of the window with finished attempts, oldest first. */
  readonly minutes: readonly MinutePoint[];
  /** The decisions table, newest first: changes, with repeated holds folded. */
  readonly rows: readonly DecisionRow[];
}

/** What `/api/dashboard` returns besides `/api/status`: the slower-moving parts of the page. */
export interface DashboardData {
  readonly now: number;
  readonly range: TimeRange;
  /** The window shown: `range` resolved (for `pico`, the last burst found in the history). */
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Scaling decisions of every queue in the window, oldest first. */
  readonly decisions: readonly DecisionRecord[];
  readonly queues: Readonly<Record<string, QueueHistory>>;
  readonly failures: Awaited<ReturnType<typeof recentFailures>>;
  /** Per queue: jobs completed (outcome ok) and attempts failed in the last 60 s. */
  readonly lastMinute: Record<string, { readonly completed: number; readonly failed: number }>;
}

/** Each decision as a moment of its queue: busy with jobs pending or workers up. */
function loadMoments(decisions: readonly DecisionRecord[]): LoadMoment[] {
  return decisions.map((d) => ({ at: d.at, queue: d.queue, busy: d.pending > 0 || d.current > 0 || d.target > 0 }));
}

/**
 * The dashboard: `/` (page), `/assets/*` (its script, style and chart.js), `/api/dashboard?range=`
 * (`pico` — since the last burst, the default —, `5m`, `1h`, `24h`: history, per-minute series,
 * decisions table, failures, completion rate) and `/artifacts/*` (failure screenshots). Mounted
 * behind basic auth when it is configured.
 */
export function dashboardRoutes(options: DashboardRoutesOptions): Router {
  const publicDir = resolvePublicDir();
  const chartJs = resolveChartJs();
  const router = express.Router();

  router.get('/', (_req, res) => {
    res.set('Cache-Control', 'no-store').sendFile(path.join(publicDir, 'index.html'));
  });
  // Browsers ask for it whatever the page says; answer instead of a 404 in the console.
  router.get('/favicon.ico', (_req, res) => {
    res.redirect(301, '/assets/favicon.svg');
  });
  router.get('/assets/chart.umd.min.js', (_req, res) => {
    res.sendFile(chartJs);
  });
  router.use('/assets', express.static(publicDir, { index: false, dotfiles: 'deny' }));
  router.use('/artifacts', serveArtifacts(options.artifactsDir));

  router.get('/api/dashboard', async (req, res) => {
    const now = Date.now();
    const range = parseRange(req.query.range);
    const lookback = range === '5m' || range === '1h' ? ROWS_LOOKBACK_MS : MAX_RANGE_MS;
    const [history, failures] = await Promise.all([
      withTimeout(options.status.decisionsSince(now - lookback), REDIS_READ_TIMEOUT_MS, 'decision history').catch(
        (err: unknown) => {
          options.logger.debug(`painel: histórico de decisões indisponível: ${String(err)}`);
          return [];
        },
      ),
      withTimeout(
        recentFailures({ queues: options.queues, artifactsDir: options.artifactsDir }),
        REDIS_READ_TIMEOUT_MS,
        'failed jobs',
      ).catch((err: unknown) => {
        options.logger.debug(`painel: jobs falhos indisponíveis: ${String(err)}`);
        return [];
      }),
    ]);
    const names = [
      ...new Set([
        ...options.queues.map((q) => q.name),
        ...options.outcomes.queueNames(),
        ...options.minutes.queueNames(),
      ]),
    ];
    const { sinceMs, untilMs } = rangeWindow(range, now, loadMoments(history));
    const inWindow = history.filter((d) => d.at >= sinceMs && d.at <= untilMs);
    const queues: Record<string, QueueHistory> = {};
    const decisions: DecisionRecord[] = [];
    for (const name of names) {
      const own = inWindow.filter((d) => d.queue === name);
      const thinned = thinDecisions(own, sinceMs, untilMs, MAX_CHART_POINTS);
      decisions.push(...thinned);
      queues[name] = {
        decisions: thinned,
        minutes: options.minutes.points(name, sinceMs).filter((m) => m.at <= untilMs),
        rows: decisionRows(history.filter((d) => d.queue === name).reverse(), DECISION_ROWS),
      };
    }
    decisions.sort((a, b) => a.at - b.at);
    const lastMinute: Record<string, { completed: number; failed: number }> = {};
    for (const name of names) {
      const c = options.outcomes.counts(name, 60_000);
      lastMinute[name] = { completed: c.ok, failed: c.error + c.retry };
    }
    const body: DashboardData = { now, range, sinceMs, untilMs, decisions, queues, failures, lastMinute };
    res.set('Cache-Control', 'no-store').json(body);
  });

  return router;
}
