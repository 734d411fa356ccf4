import path from 'node:path';
import type { Queue } from 'bullmq';
import { serveArtifacts } from './artifacts-route.js';
import express, { type Router } from 'express';
import type { Logger } from '../logging/logger.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { DecisionRecord } from '../shared/decision-record.js';
import type {
  HistoryPoint,
  HistorySeries,
  InstanceShare,
  OutcomeCounts,
  PoolHistorySource,
} from '../shared/pool-history.js';
import type { StatusSource } from '../shared/status.js';
import { decisionRows, thinDecisions, type DecisionRow } from './decision-rows.js';
import { recentFailures } from './failures.js';
import { resolveChartJs, resolvePublicDir } from './static-assets.js';
import { BURST_LOOKBACK_MS, parseRange, rangeWindow, type LoadMoment, type TimeRange } from './time-range.js';

/** Options for {@link dashboardRoutes}. */
export interface DashboardRoutesOptions {
  readonly status: StatusSource;
  readonly queues: readonly Queue[];
  readonly artifactsDir: string;
  /** The pool's history in Redis: the charts, the completion rate, the per-instance split. */
  readonly history: PoolHistorySource;
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
/** Ranges longer than this draw pending and workers from the history's buckets, not the decisions. */
const DECISIONS_UP_TO_MS = 86_400_000;

/** One queue's part of `/api/dashboard`. */
export interface QueueHistory {
  /**
   * Decisions in the window, oldest first, thinned: pending and workers over time, for ranges up
   * to a day (the 7-day chart draws the points' peaks instead).
   */
  readonly decisions: readonly DecisionRecord[];
  /** The pool's buckets of the window (`stepMs` each) with something recorded, oldest first. */
  readonly points: readonly HistoryPoint[];
  /** The decisions table, newest first: changes, with repeated holds folded. */
  readonly rows: readonly DecisionRow[];
  /** What each instance did for this queue in the window. */
  readonly instances: Readonly<Record<string, InstanceShare>>;
}

/** What `/api/dashboard` returns besides `/api/status`: the slower-moving parts of the page. */
export interface DashboardData {
  readonly now: number;
  readonly range: TimeRange;
  /** The window shown: `range` resolved (for `pico`, the last burst found in the history). */
  readonly sinceMs: number;
  readonly untilMs: number;
  /** Length of one bucket of `points`: 1 min, 10 min (24 h) or 1 h (7 days). */
  readonly stepMs: number;
  /** Scaling decisions of every queue in the window, oldest first. */
  readonly decisions: readonly DecisionRecord[];
  readonly queues: Readonly<Record<string, QueueHistory>>;
  readonly failures: Awaited<ReturnType<typeof recentFailures>>;
  /** Per queue, over the whole pool: jobs completed (outcome ok) and attempts failed in the last 60 s. */
  readonly lastMinute: Record<string, { readonly completed: number; readonly failed: number }>;
  /** Per instance id, every queue together: what it did in the window (instances gone included). */
  readonly instances: Readonly<Record<string, InstanceShare>>;
  /** Set when the pool history could not be read (Redis away): the charts are empty, not zero. */
  readonly historyError?: string;
}

/** Each decision as a moment of its queue: busy with jobs pending or workers up. */
function loadMoments(decisions: readonly DecisionRecord[]): LoadMoment[] {
  return decisions.map((d) => ({ at: d.at, queue: d.queue, busy: d.pending > 0 || d.current > 0 || d.target > 0 }));
}

/**
 * The dashboard: `/` (page), `/assets/*` (its script, style and chart.js), `/api/dashboard?range=`
 * (`pico` — since the last burst, the default —, `5m`, `1h`, `24h`, `7d`: the pool's history from
 * Redis, decisions table, failures, completion rate, per-instance split) and `/artifacts/*`
 * (failure screenshots). Mounted behind basic auth when it is configured.
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
    // The decisions are read for the chart up to a day (and the burst search); beyond, only the
    // table needs them, so a week's page stays as cheap as an hour's.
    const lookback = range === 'pico' || range === '24h' ? BURST_LOOKBACK_MS : ROWS_LOOKBACK_MS;
    const soft =
      <T>(what: string, fallback: T) =>
      (err: unknown): T => {
        options.logger.debug(`painel: ${what} indisponível: ${String(err)}`);
        return fallback;
      };
    const [history, failures] = await Promise.all([
      withTimeout(options.status.decisionsSince(now - lookback), REDIS_READ_TIMEOUT_MS, 'decision history').catch(
        soft('histórico de decisões', [] as DecisionRecord[]),
      ),
      withTimeout(
        recentFailures({ queues: options.queues, artifactsDir: options.artifactsDir }),
        REDIS_READ_TIMEOUT_MS,
        'failed jobs',
      ).catch(soft('jobs falhos', [])),
    ]);
    const { sinceMs, untilMs } = rangeWindow(range, now, loadMoments(history));
    let historyError: string | undefined;
    const [series, lastMinuteCounts] = await Promise.all([
      withTimeout(options.history.series(sinceMs, untilMs), REDIS_READ_TIMEOUT_MS, 'pool history').catch(
        (err: unknown): HistorySeries => {
          historyError = String(err);
          return soft('histórico do pool', { stepMs: 60_000, queues: {} })(err);
        },
      ),
      withTimeout(options.history.outcomes(60_000), REDIS_READ_TIMEOUT_MS, 'last minute').catch(
        soft<Readonly<Record<string, OutcomeCounts>>>('último minuto', {}),
      ),
    ]);
    const names = [...new Set([...options.queues.map((q) => q.name), ...Object.keys(series.queues)])];
    const withDecisions = untilMs - sinceMs <= DECISIONS_UP_TO_MS;
    const inWindow = history.filter((d) => d.at >= sinceMs && d.at <= untilMs);
    const queues: Record<string, QueueHistory> = {};
    const decisions: DecisionRecord[] = [];
    const instances: Record<string, InstanceShare> = {};
    const lastMinute: Record<string, { completed: number; failed: number }> = {};
    for (const name of names) {
      const own = withDecisions ? inWindow.filter((d) => d.queue === name) : [];
      const thinned = thinDecisions(own, sinceMs, untilMs, MAX_CHART_POINTS);
      decisions.push(...thinned);
      const pool = series.queues[name];
      queues[name] = {
        decisions: thinned,
        points: (pool?.points ?? []).filter((p) => p.at <= untilMs),
        rows: decisionRows(history.filter((d) => d.queue === name).reverse(), DECISION_ROWS),
        instances: pool?.instances ?? {},
      };
      for (const [id, share] of Object.entries(pool?.instances ?? {})) {
        const sum = instances[id] ?? { completed: 0, failed: 0 };
        instances[id] = { completed: sum.completed + share.completed, failed: sum.failed + share.failed };
      }
      const c = lastMinuteCounts[name];
      lastMinute[name] = { completed: Math.round(c?.ok ?? 0), failed: Math.round((c?.error ?? 0) + (c?.retry ?? 0)) };
    }
    decisions.sort((a, b) => a.at - b.at);
    const body: DashboardData = {
      now,
      range,
      sinceMs,
      untilMs,
      stepMs: series.stepMs,
      decisions,
      queues,
      failures,
      lastMinute,
      instances,
      ...(historyError ? { historyError } : {}),
    };
    res.set('Cache-Control', 'no-store').json(body);
  });

  return router;
}
