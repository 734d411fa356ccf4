import type { AppConfig } from '../config/types.js';
import { flowForQueue } from '../flows/registry.js';
import type { Flow } from '../flows/flow.js';
import { coerceError } from '../lib/errors.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { PoolCaps } from '../cluster/pool-caps.js';
import type { WorkerPool } from '../pool/worker-pool.js';
import type { Scaler } from '../scaler/scaler.js';
import { waitForRedis } from '../redis/wait-for-redis.js';
import { ServiceEvents } from '../shared/events.js';
import { bridgeOf, openQueues, startBridge } from './intake-wiring.js';
import { checkArtifactsDir, startAlerts, startArtifactSweeper, wireObservers } from './observer-wiring.js';
import { openRedis } from './redis-wiring.js';
import type { CapacityMonitor } from '../capacity/capacity-monitor.js';
import { STEP_TIMEOUT_MS, type Stoppable } from './stoppable.js';
import { startWork, wireWork } from './work-wiring.js';

export interface ServiceOptions {
  readonly config: AppConfig;
  readonly logger: Logger;
  /** Flows by name. @defaultValue the built-in flows */
  readonly flows?: ReadonlyMap<string, Flow>;
}

/**
 * The whole service: HTTP, janitor, worker pool + scaler, bridge, alerts. `start()` brings them up
 * in that order (HTTP first so /healthz and /readyz answer while Redis is still missing);
 * `stop()` takes them down in reverse, gracefully first and forcefully after the shutdown timeout.
 */
export class Service {
  readonly events = new ServiceEvents();
  readonly #config: AppConfig;
  readonly #logger: Logger;
  readonly #flows: Map<string, Flow>;
  readonly #stopping = new AbortController();
  readonly #started: Stoppable[] = [];
  #pool: WorkerPool | undefined;
  #scaler: Scaler | undefined;
  #capacity: CapacityMonitor | undefined;
  #httpUrl: string | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ServiceOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.#flows = new Map(options.config.queues.map((q) => [q.name, flowForQueue(q, options.flows)]));
  }

  get httpUrl(): string | undefined {
    return this.#httpUrl;
  }

  /** The worker pool, for observation (counts, unit-state events); undefined before start. */
  get pool(): WorkerPool | undefined {
    return this.#pool;
  }

  /** The scaler, for observation (its decisions: `evaluated` events, `lastPlans`); undefined before start. */
  get scaler(): Scaler | undefined {
    return this.#scaler;
  }

  /** The capacity monitor, for observation (its load windows and measured costs); undefined before start. */
  get capacity(): CapacityMonitor | undefined {
    return this.#capacity;
  }

  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  /**
   * The start order: what needs no Redis (artifact sweeper, connection, queues, capacity monitor,
   * pool history writer), then HTTP, so /healthz and /readyz answer while Redis is still missing; once
   * Redis answers: janitor, heartbeat (the caps as BullMQ's global concurrency), workers, scaler,
   * bridge, alerts. Each part is recorded as it starts, so `stop()` takes down exactly those.
   */
  async #doStart(): Promise<void> {
    const config = this.#config;
    const logger = this.#logger;
    const events = this.events;
    const started = this.#started;
    // The artifacts folder is bounded by age and size; it needs no Redis, so it starts first.
    startArtifactSweeper(config, logger, started);
    await checkArtifactsDir(config, logger);
    const redis = openRedis(config, logger, started);
    const queues = openQueues(config, redis.connection, started);
    const work = wireWork({ config, logger, events, flows: this.#flows, redis, queues }, started);
    this.#pool = work.pool;
    this.#scaler = work.scaler;
    this.#capacity = work.capacity.monitor;
    const bridge = bridgeOf({ config, logger, events, redis, cluster: work.cluster, scaler: work.scaler });
    const observers = await wireObservers(
      { config, logger, events, redis: redis.connection, queues, work, bridge },
      started,
    );
    this.#httpUrl = observers.httpUrl;

    await waitForRedis(redis.connection, { config: config.redis, logger, signal: this.#stopping.signal });
    if (this.#stopping.signal.aborted) return;
    await startWork(work, { config, logger, queues, signal: this.#stopping.signal }, started);
    await startBridge(bridge, started);
    startAlerts({ config, logger, redis: redis.connection, work, observers }, started);
    logger.info(readyLine(config, work.cluster.caps()));
  }

  /** Stops everything in reverse start order; each step in its own try/catch. Idempotent. */
  stop(): Promise<void> {
    this.#closing ??= this.#doStop();
    return this.#closing;
  }

  async #doStop(): Promise<void> {
    this.#stopping.abort();
    await this.#starting?.catch(() => undefined);
    // Intake first: the bridge stops taking from the lists before workers drain.
    const order = [...this.#started].reverse();
    for (const component of order) {
      try {
        // Workers bound themselves (graceful, then forced); nothing else may hold the exit up.
        const step = component.stop();
        await (component.name === 'workers' ? step : withTimeout(step, STEP_TIMEOUT_MS, `stopping ${component.name}`));
        this.#logger.debug(`${component.name} parado`);
      } catch (err) {
        this.#logger.warn(`falha ao parar ${component.name}: ${coerceError(err).message}`);
      }
    }
    this.#started.length = 0;
  }
}

/** `serviço pronto: filas ...; scaler a cada ...; máx. ... (limites do pool)` */
function readyLine(config: AppConfig, caps: PoolCaps): string {
  const queues = config.queues.map((q) => `${q.name} (${q.sourceList} → ${q.flow})`).join(', ');
  const maxWorkers = Object.entries(caps.maxWorkers)
    .map(([q, n]) => `${n} ${q}`)
    .join(', ');
  return (
    `serviço pronto: filas ${queues}; ` +
    `scaler a cada ${config.scaler.intervalSeconds}s, ${config.scaler.jobsPerWorker} jobs/worker, ` +
    `máx. ${maxWorkers} e ${caps.maxTotalWorkers} no total (limites do pool)`
  );
}
