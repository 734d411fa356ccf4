/**
 * The observers: the artifact sweeper, the pool's history in Redis (this instance's share written,
 * every instance's read), the live status, the HTTP server (dashboard, /api/status, /metrics,
 * /healthz, /readyz) and the alerts. They read the rest of the service and drive none of it.
 */
import path from 'node:path';
import type { Redis } from 'ioredis';
import { RedisAlertLedger } from '../alerts/alert-ledger.js';
import { AlertMonitor } from '../alerts/alert-monitor.js';
import { poolName } from '../cluster/pool-membership.js';
import type { AppConfig } from '../config/types.js';
import { PoolHistoryReader } from '../history/history-reader.js';
import { PoolHistoryWriter } from '../history/history-writer.js';
import { HttpServer } from '../http/server.js';
import { unwritableReason } from '../lib/writable-dir.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceEvents } from '../shared/events.js';
import type { BridgeStuck, StatusSource } from '../shared/status.js';
import { ArtifactSweeper } from '../workers/artifact-sweeper.js';
import type { ServiceQueue } from './intake-wiring.js';
import { LiveStatusSource } from './redis-status-source.js';
import type { StartedParts } from './stoppable.js';
import type { Work } from './work-wiring.js';

/** What the observers started that others read. */
export interface Observers {
  /** The pool's history: every instance's outcomes and gauges, summed from Redis. */
  readonly history: PoolHistoryReader;
  readonly status: StatusSource;
  /** The HTTP server's base URL; undefined with `http.enabled: false`. */
  readonly httpUrl: string | undefined;
}

/** Bounds the artifacts folder by age and size; needs no Redis. */
export function startArtifactSweeper(config: AppConfig, logger: Logger, started: StartedParts): void {
  const sweeper = new ArtifactSweeper({
    dir: config.artifactsDir,
    maxAgeMs: config.jobs.keepFailedSeconds * 1000,
    maxBytes: config.artifacts.maxMb * 1024 * 1024,
    intervalMs: config.artifacts.sweepIntervalSeconds * 1000,
    logger: logger.child({ component: 'artifacts' }),
  });
  sweeper.start();
  started.push({ name: 'artifacts', stop: () => sweeper.close() });
}

/** Screenshots of failing attempts go to the artifacts folder: one it cannot write is said now, loudly. */
export async function checkArtifactsDir(config: AppConfig, logger: Logger): Promise<void> {
  const problem = await unwritableReason(config.artifactsDir);
  if (!problem) return;
  logger.error(
    `pasta de artefatos ${path.resolve(config.artifactsDir)} não é gravável: screenshots de falhas não serão salvos (${problem}); ` +
      'dê a pasta ao usuário do serviço ou use um volume nomeado (docker-compose.yml)',
  );
}

/** What {@link wireObservers} reads of the rest of the service. */
export interface ObserverDeps {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly events: ServiceEvents;
  readonly redis: Redis;
  readonly queues: readonly ServiceQueue[];
  readonly work: Work;
  /** The bridge's stuck queues (none before it runs). */
  readonly bridge: { stuck(): readonly BridgeStuck[] };
}

/**
 * Starts the pool's history writer and the HTTP server over the live status, before Redis answers:
 * the status reads Redis at each request and says when it cannot, so /healthz and /readyz answer
 * while Redis is still missing.
 */
export async function wireObservers(deps: ObserverDeps, started: StartedParts): Promise<Observers> {
  startHistoryWriter(deps, started);
  const history = new PoolHistoryReader({
    redis: deps.redis,
    prefix: deps.config.redis.prefix,
    queues: deps.config.queues.map((q) => q.name),
  });
  const status = statusOf(deps, history);
  const httpUrl = deps.config.http.enabled ? await startHttp(deps, status, history, started) : undefined;
  return { history, status, httpUrl };
}

/**
 * This instance's share of the pool's history in Redis, from the start (jobs finished while Redis is
 * away are written when it answers); the dashboard, the deadline estimate's drain rate and the
 * alerts read the sum over every instance. Stopped after the workers and the bridge: their last
 * events are written.
 */
function startHistoryWriter(deps: ObserverDeps, started: StartedParts): void {
  const { config, work } = deps;
  const writer = new PoolHistoryWriter({
    redis: deps.redis,
    prefix: config.redis.prefix,
    queues: config.queues.map((q) => q.name),
    instanceId: config.instance.id,
    events: deps.events,
    gauges: (queue) => ({
      pending: work.scaler.lastDepths.find((d) => d.queue === queue)?.pending ?? 0,
      workers: work.pool.counts(queue).live,
      bridgeStuckSeconds: deps.bridge.stuck().find((b) => b.queue === queue)?.seconds ?? 0,
    }),
    retentionMs: config.metrics.retentionDays * 86_400_000,
    logger: deps.logger.child({ component: 'history' }),
  });
  writer.start();
  started.push({ name: 'history', stop: () => writer.close() });
}

/** The live status: queues and decisions from Redis, units from the pool, the pool's instances. */
function statusOf(deps: ObserverDeps, history: PoolHistoryReader): LiveStatusSource {
  const { config, work } = deps;
  return new LiveStatusSource({
    config,
    redis: deps.redis,
    depth: work.depth,
    pool: work.pool,
    scaler: work.scaler,
    history: work.history,
    poolHistory: history,
    instanceId: config.instance.id,
    instanceCapacity: work.instanceCapacity,
    instances: () => work.cluster.instances(),
    fence: work.cluster.fence,
    caps: work.cluster.caps,
    capacity: work.capacity,
    stuckBridges: () => deps.bridge.stuck(),
  });
}

/** Listens; resolves with the base URL. */
async function startHttp(
  deps: ObserverDeps,
  status: StatusSource,
  history: PoolHistoryReader,
  started: StartedParts,
): Promise<string> {
  const http = new HttpServer({
    config: deps.config,
    logger: deps.logger.child({ component: 'http' }),
    status,
    events: deps.events,
    history,
    queues: deps.queues.map((q) => q.queue),
    artifactsDir: deps.config.artifactsDir,
  });
  const { url } = await http.start();
  started.push({ name: 'http', stop: () => http.close() });
  return url;
}

/**
 * The alerts, started last: their rules read the status of a service that runs. They are measured
 * over the pool and reported once per pool: only the instance that reports the scaling decisions
 * evaluates them, and breach starts and cooldowns live in one ledger per pool in Redis.
 */
export function startAlerts(
  deps: {
    readonly config: AppConfig;
    readonly logger: Logger;
    readonly redis: Redis;
    readonly work: Pick<Work, 'scaler'>;
    readonly observers: Observers;
  },
  started: StartedParts,
): void {
  const { config } = deps;
  const alerts = new AlertMonitor({
    config: config.alerts,
    status: deps.observers.status,
    history: deps.observers.history,
    ledger: new RedisAlertLedger({
      redis: deps.redis,
      key: `${config.redis.prefix}:rpa:alerts:${poolName(config.queues.map((q) => q.name))}`,
      ttlMs: Math.max(7 * 86_400_000, config.alerts.cooldownSeconds * 2000),
    }),
    reporter: () => deps.work.scaler.reporting,
    logger: deps.logger.child({ component: 'alerts' }),
  });
  alerts.start();
  started.push({ name: 'alerts', stop: () => alerts.close() });
}
