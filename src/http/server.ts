import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Queue } from 'bullmq';
import express, { type ErrorRequestHandler } from 'express';
import helmet from 'helmet';
import type { AppConfig } from '../config/types.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceEvents } from '../shared/events.js';
import type { PoolHistorySource } from '../shared/pool-history.js';
import type { FenceStatus, StatusSource } from '../shared/status.js';
import { basicAuth } from './basic-auth.js';
import { bullBoardRouter } from './bull-board.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { authForListen } from './listen-guard.js';
import { loopbackHostsOnly, refuseCrossSiteWrites } from './request-guards.js';
import { ServiceMetrics } from './metrics.js';

/** Options for {@link HttpServer}. */
export interface HttpServerOptions {
  /** `http.host`, `http.port` (0: any free port) and `http.auth` are used. */
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly status: StatusSource;
  readonly events: ServiceEvents;
  /** The pool's history in Redis (the dashboard's charts and completion rate). */
  readonly history: PoolHistorySource;
  /** BullMQ Queue objects, one per configured queue, for Bull Board and the failures list. */
  readonly queues: readonly Queue[];
  /** Where failure screenshots live (`<artifactsDir>/<queue>/<jobId>-attempt<k>.png`). */
  readonly artifactsDir: string;
}

/** /api/status answers 503 rather than hang while Redis does not answer. */
const STATUS_TIMEOUT_MS = 5000;

/** Path of Bull Board. */
export const BOARD_PATH = '/admin/queues';

/**
 * The operations surface (CONTRACT.md "HTTP"): `/healthz`, `/readyz`, `/metrics` open;
 * `/api/status`, `/` (dashboard), `/admin/queues` (Bull Board) and `/artifacts/*` behind HTTP
 * basic auth when `http.auth` is set. Without auth it only listens on loopback.
 */
export class HttpServer {
  readonly #options: HttpServerOptions;
  readonly #logger: Logger;
  readonly #metrics: ServiceMetrics;
  #server: http.Server | undefined;
  #starting: Promise<{ url: string }> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: HttpServerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'http' });
    this.#metrics = new ServiceMetrics({
      status: options.status,
      events: options.events,
      logger: this.#logger,
    });
  }

  /** Listens; resolves with the base URL. Throws when auth is missing on a non-loopback host. Idempotent. */
  start(): Promise<{ url: string }> {
    if (this.#closing) return Promise.reject(new Error('HttpServer is closed'));
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  /** Stops listening and drops open connections. Idempotent; waits for a start in progress. */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doStart(): Promise<{ url: string }> {
    const { config } = this.#options;
    const auth = authForListen(config.http);
    const app = this.#app(auth);
    this.#metrics.start();
    const server = http.createServer(app);
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const url = `http://${host}:${port}`;
    this.#logger.info(`HTTP em ${url} (painel /, Bull Board ${BOARD_PATH}, métricas /metrics, estado /api/status)`, {
      auth: auth ? 'basic' : 'nenhuma (só loopback)',
    });
    return { url };
  }

  async #doClose(): Promise<void> {
    try {
      await this.#starting;
    } catch {
      // a failed start leaves nothing listening
    }
    const server = this.#server;
    if (server?.listening) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections (browsers, scrapers) would hold close() open.
      server.closeAllConnections();
      await closed;
    }
    this.#metrics.close();
  }

  #app(auth: { user: string; password: string } | undefined): express.Express {
    const { status, queues, artifactsDir } = this.#options;
    const app = express();
    app.disable('x-powered-by');
    // Plain HTTP on an operations port: no HSTS, no upgrade of requests. Scripts only from this
    // origin; Bull Board's page also uses inline styles and Google's fonts.
    app.use(
      helmet({
        contentSecurityPolicy: {
          useDefaults: false,
          directives: {
            defaultSrc: ["'self'"],
            scriptSrc: ["'self'"],
            styleSrc: ["'self'", "'unsafe-inline'", 'https://fonts.googleapis.com'],
            fontSrc: ["'self'", 'data:', 'https://fonts.gstatic.com'],
            imgSrc: ["'self'", 'data:', 'blob:'],
            connectSrc: ["'self'"],
            objectSrc: ["'none'"],
            baseUri: ["'self'"],
            formAction: ["'self'"],
            frameAncestors: ["'none'"],
          },
        },
        frameguard: { action: 'deny' },
        strictTransportSecurity: false,
      }),
    );
    if (!auth) app.use(loopbackHostsOnly(this.#options.config.http.host));
    app.use(refuseCrossSiteWrites());

    app.get('/healthz', (_req, res) => {
      res.type('text/plain').send('ok\n');
    });
    app.get('/readyz', async (_req, res) => {
      const fence = status.fence?.();
      // Fenced: not ready even if Redis answers this very PING, until a renewal lifts the fence.
      const ready = !fence?.fenced && (await status.redisReady().catch(() => false));
      // A stuck bridge does not make the instance unready (Redis answers, the rest works) but is
      // named here, one line per queue, so a probe's output shows it.
      const stuck = (status.stuckBridges?.() ?? []).map(
        (s) => `ponte parada: fila ${s.queue} há ${s.seconds}s: ${s.reason.slice(0, 200)}\n`,
      );
      res
        .status(ready ? 200 : 503)
        .type('text/plain')
        .send(
          (ready ? 'ready\n' : fence?.fenced ? 'fenced\n' : 'redis unavailable\n') + fenceLines(fence) + stuck.join(''),
        );
    });
    app.get('/metrics', async (_req, res) => {
      const text = await this.#metrics.text();
      res.set('Content-Type', this.#metrics.contentType).send(text);
    });

    if (auth) app.use(basicAuth(auth));

    app.get('/api/status', async (_req, res) => {
      res.set('Cache-Control', 'no-store');
      try {
        res.json(await withTimeout(status.status(), STATUS_TIMEOUT_MS, 'status'));
      } catch (err) {
        res.status(503).json({ error: `status unavailable: ${err instanceof Error ? err.message : String(err)}` });
      }
    });
    app.use(BOARD_PATH, bullBoardRouter(queues, BOARD_PATH));
    app.use(
      dashboardRoutes({
        status,
        queues,
        artifactsDir,
        history: this.#options.history,
        logger: this.#logger,
      }),
    );

    const onError: ErrorRequestHandler = (err: unknown, req, res, next) => {
      const statusCode = (err as { status?: unknown }).status;
      if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
        res.status(statusCode).type('text/plain').send(`${statusCode}\n`);
        return;
      }
      this.#logger.error(`HTTP ${req.method} ${req.path} falhou: ${err instanceof Error ? err.message : String(err)}`);
      if (res.headersSent) {
        next(err);
        return;
      }
      res.status(500).type('text/plain').send('internal error\n');
    };
    app.use(onError);
    return app;
  }
}

/**
 * `/readyz` lines of a fenced instance: when its last renewal reached Redis, when it fenced itself
 * and when its units had all closed (before the lease ran out from that renewal, by design).
 */
function fenceLines(fence: FenceStatus | undefined): string {
  if (!fence?.fenced) return '';
  const iso = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
  return (
    `isolada: sem renovar no Redis desde ${iso(fence.lastRenewalAt)} (lease de ${fence.leaseMs} ms); ` +
    `isolada em ${iso(fence.fencedAt)}; workers abertos: ${fence.openUnits}; ` +
    `todos encerrados em ${iso(fence.unitsClosedAt)}\n`
  );
}
