/**
 * The observers: the artifact sweeper, the window of recent job outcomes, the live status, the HTTP
 * server (dashboard, /api/status, /metrics, /healthz, /readyz) and the alerts. They read the rest
 * of the service and drive none of it.
 */
import type { Redis } from 'ioredis';
import { AlertMonitor, alertWindowMs } from '../alerts/alert-monitor.js';
import type { AppConfig } from '../config/types.js';
import { HttpServer } from '../http/server.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceEvents } from '../shared/events.js';
import { OutcomeWindow } from '../shared/outcome-window.js';
import type { BridgeStuck, StatusSource } from '../shared/status.js';
import { ArtifactSweeper } from '../workers/artifact-sweeper.js';
import type { ServiceQueue } from './intake-wiring.js';
import { DRAIN_RATE_WINDOW_MS, LiveStatusSource } from './redis-status-source.js';
import type { StartedParts } from './stoppable.js';
import type { Work } from './work-wiring.js';

/** What the observers started that others read. */
export interface Observers {
  readonly outcomes: OutcomeWindow;
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
 * Starts the outcome window and the HTTP server over the live status, before Redis answers: the
 * status reads Redis at each request and says when it cannot, so /healthz and /readyz answer
 * while Redis is still missing.
 */
export async function wireObservers(deps: ObserverDeps, started: StartedParts): Promise<Observers> {
  const outcomes = startOutcomeWindow(deps, started);
  const status = statusOf(deps, outcomes);
  const httpUrl = deps.config.http.enabled ? await startHttp(deps, status, outcomes, started) : undefined;
  return { outcomes, status, httpUrl };
}

/**
 * One window for the dashboard's last minute, the deadline estimate's drain rate and the alerts'
 * longest failure-ratio window.
 */
function startOutcomeWindow(deps: ObserverDeps, started: StartedParts): OutcomeWindow {
  const outcomes = new OutcomeWindow({
    events: deps.events,
    keepMs: Math.max(60_000, DRAIN_RATE_WINDOW_MS, alertWindowMs(deps.config.alerts)),
  });
  outcomes.start();
  started.push({ name: 'outcomes', stop: () => Promise.resolve(outcomes.close()) });
  return outcomes;
}

/** The live status: queues and decisions from Redis, units from the pool, the pool's instances. */
function statusOf(deps: ObserverDeps, outcomes: OutcomeWindow): LiveStatusSource {
  const { config, work } = deps;
  return new LiveStatusSource({
    config,
    redis: deps.redis,
    depth: work.depth,
    pool: work.pool,
    scaler: work.scaler,
    history: work.history,
    outcomes,
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
  outcomes: OutcomeWindow,
  started: StartedParts,
): Promise<string> {
  const http = new HttpServer({
    config: deps.config,
    logger: deps.logger.child({ component: 'http' }),
    status,
    events: deps.events,
    outcomes,
    queues: deps.queues.map((q) => q.queue),
    artifactsDir: deps.config.artifactsDir,
  });
  const { url } = await http.start();
  started.push({ name: 'http', stop: () => http.close() });
  return url;
}

/** The alerts, started last: their rules read the status of a service that runs. */
export function startAlerts(
  deps: { readonly config: AppConfig; readonly logger: Logger; readonly observers: Observers },
  started: StartedParts,
): void {
  const alerts = new AlertMonitor({
    config: deps.config.alerts,
    status: deps.observers.status,
    outcomes: deps.observers.outcomes,
    logger: deps.logger.child({ component: 'alerts' }),
  });
  alerts.start();
  started.push({ name: 'alerts', stop: () => alerts.close() });
}
