import { Queue } from 'bullmq';
import type { AppConfig } from '../config/types.js';
import { flowForQueue } from '../flows/registry.js';
import type { Flow } from '../flows/flow.js';
import { coerceError } from '../lib/errors.js';
import { systemClock } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import { decisionsKey } from '../redis/keys.js';
import { ReplicaWait } from '../redis/replica-wait.js';
import { waitForRedis } from '../redis/wait-for-redis.js';
import { Bridge } from '../bridge/bridge.js';
import { DecisionHistory } from '../scaler/decision-history.js';
import { StalledJanitor } from '../pool/janitor.js';
import { RedisQueueDepthSource } from '../scaler/queue-depth.js';
import { Scaler } from '../scaler/scaler.js';
import { WorkerPool } from '../pool/worker-pool.js';
import { HttpServer } from '../http/server.js';
import { AlertMonitor, alertWindowMs } from '../alerts/alert-monitor.js';
import { OutcomeWindow } from '../shared/outcome-window.js';
import { ArtifactSweeper } from '../workers/artifact-sweeper.js';
import { ServiceEvents } from '../shared/events.js';
import { startCapacity } from './capacity-wiring.js';
import { createWorkerUnit, MAX_STALLED_COUNT } from './unit-factory.js';
import { DRAIN_RATE_WINDOW_MS, LiveStatusSource } from './redis-status-source.js';
import { clusterOf, instanceCapacityOf } from './cluster-wiring.js';

/** Longest wait for one component (but the workers) to stop. */
const STEP_TIMEOUT_MS = 10_000;

/** A started component and how to stop it; stopped in reverse start order. */
interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

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

  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    const config = this.#config;
    const log = this.#logger;
    // The artifacts folder is bounded by age and size; it needs no Redis, so it starts first.
    const sweeper = new ArtifactSweeper({
      dir: config.artifactsDir,
      maxAgeMs: config.jobs.keepFailedSeconds * 1000,
      maxBytes: config.artifacts.maxMb * 1024 * 1024,
      intervalMs: config.artifacts.sweepIntervalSeconds * 1000,
      logger: log.child({ component: 'artifacts' }),
    });
    sweeper.start();
    this.#started.push({ name: 'artifacts', stop: () => sweeper.close() });
    const redis = createRedis(config.redis, 'command', log.child({ component: 'redis' }), 'service');
    this.#started.push({
      name: 'redis',
      // QUIT would wait in the offline queue while Redis is down: drop the socket then.
      stop: async () => {
        if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
        else redis.disconnect();
      },
    });

    const queues = config.queues.map(
      (q) => new Queue(q.name, { connection: redis, prefix: config.redis.prefix, skipVersionCheck: true }),
    );
    for (const queue of queues) queue.on('error', () => undefined); // the connection watcher reports outages
    this.#started.push({
      name: 'queues',
      stop: async () => void (await Promise.allSettled(queues.map((q) => q.close()))),
    });

    // One for the service: whether the replicas answer is one state, shared by bridge and units.
    const replicaWait = new ReplicaWait({
      replicas: config.redis.waitReplicas ?? 0,
      timeoutMs: config.redis.waitTimeoutMs ?? 1000,
      logger: log.child({ component: 'redis' }),
    });
    const history = new DecisionHistory(redis, config.scaler.historyMaxLen, decisionsKey(config.redis.prefix));
    const self = config.instance; // one of several instances sharing Redis (CONTRACT.md)
    const cluster = clusterOf(config, redis);
    const depth = new RedisQueueDepthSource(
      redis,
      config.queues.map((c, i) => ({ config: c, queue: queues[i] as Queue })),
    );
    // The caps in effect are the pool's, stored in Redis (this instance's own until it joins).
    const caps = cluster.caps;
    const pool = new WorkerPool({
      get maxWorkersByQueue() {
        return caps().maxWorkers;
      },
      get maxTotalWorkers() {
        return Math.min(caps().maxTotalWorkers, self.maxWorkers);
      },
      logger: log.child({ component: 'pool' }),
      createUnit: (queueName, index) =>
        createWorkerUnit(
          { config, flows: this.#flows, logger: log, events: this.events, replicaWait },
          queueName,
          index,
        ),
      slots: cluster.slots,
      fenced: cluster.fenced,
      clock: systemClock,
    });
    this.#pool = pool;
    const capacity = startCapacity({
      config,
      redis,
      pool,
      events: this.events,
      logger: log.child({ component: 'capacity' }),
    });
    this.#started.push({ name: 'capacity', stop: () => Promise.resolve(capacity.close()) });
    const instanceCapacity = (): number => instanceCapacityOf(self.maxWorkers, capacity.bound(), pool.totalCounted());
    const scaler = new Scaler({
      source: depth,
      pool,
      history,
      cluster: cluster.scaler({ capacity: instanceCapacity, units: () => pool.liveByQueue() }),
      limits: {
        get queues() {
          return Object.fromEntries(
            config.queues.map((q) => [
              q.name,
              { ...capacity.queueLimits(q), maxWorkers: caps().maxWorkers[q.name] ?? 0 },
            ]),
          );
        },
        get maxTotalWorkers() {
          return caps().maxTotalWorkers;
        },
        stabilizationMs: config.scaler.stabilizationSeconds * 1000,
        minJobSamples: config.capacity.minJobSamples,
      },
      capacity: capacity.bound,
      jobTimes: capacity.jobTimes,
      logger: log.child({ component: 'scaler' }),
      intervalMs: config.scaler.intervalSeconds * 1000,
      debounceMs: config.scaler.debounceMs,
      equilibriumLogLevel: config.scaler.equilibriumLogLevel,
      clock: systemClock,
    });
    scaler.on('evaluated', (plans, _depths, reporter) => {
      if (!reporter) return; // every instance makes the same global decision; one counts it
      for (const p of plans) {
        if (p.action === 'hold') continue;
        this.events.emit('scaled', {
          queue: p.queue,
          action: p.action,
          from: p.current,
          to: p.target,
          pending: p.pending,
        });
      }
    });
    // Finished jobs change the backlog: evaluate soon so scale-down need not wait for the tick.
    this.events.on('job-finished', () => scaler.nudge());
    capacity.monitor.on('changed', () => scaler.nudge());
    // One window for the dashboard's last minute, the deadline estimate's drain rate and the
    // alerts' longest failure-ratio window.
    const outcomes = new OutcomeWindow({
      events: this.events,
      keepMs: Math.max(60_000, DRAIN_RATE_WINDOW_MS, alertWindowMs(config.alerts)),
    });
    outcomes.start();
    this.#started.push({ name: 'outcomes', stop: () => Promise.resolve(outcomes.close()) });
    // The bridge starts after Redis answers; until then no queue is stuck.
    const bridgeRef: { current?: Bridge } = {};
    const status = new LiveStatusSource({
      config,
      redis,
      depth,
      pool,
      scaler,
      history,
      outcomes,
      instanceId: self.id,
      instanceCapacity,
      instances: () => cluster.instances(),
      fence: cluster.fence,
      caps,
      capacity,
      stuckBridges: () => bridgeRef.current?.stuck() ?? [],
    });

    if (config.http.enabled) {
      const http = new HttpServer({
        config,
        logger: log.child({ component: 'http' }),
        status,
        events: this.events,
        outcomes,
        queues,
        artifactsDir: config.artifactsDir,
      });
      const { url } = await http.start();
      this.#httpUrl = url;
      this.#started.push({ name: 'http', stop: () => http.close() });
    }

    await waitForRedis(redis, {
      config: config.redis,
      logger: log,
      signal: this.#stopping.signal,
    });
    if (this.#stopping.signal.aborted) return;
    const janitor = new StalledJanitor({
      queues: config.queues,
      redis: config.redis,
      logger: log.child({ component: 'janitor' }),
      stalledIntervalMs: config.scaler.stalledIntervalMs,
      maxStalledCount: MAX_STALLED_COUNT,
      keepFailedSeconds: config.jobs.keepFailedSeconds,
      onStalled: () => scaler.nudge(),
    });
    await janitor.start();
    this.#started.push({ name: 'janitor', stop: () => janitor.close() });

    const heartbeat = await cluster.startHeartbeat({
      pool,
      capacity: instanceCapacity,
      logger: log.child({ component: 'instance' }),
      onChange: () => scaler.nudge(),
      // The hard per-queue cap on active jobs, enforced by BullMQ inside Redis for every instance.
      applyCaps: async (c) =>
        void (await Promise.all(queues.map((queue) => queue.setGlobalConcurrency(c.maxWorkers[queue.name] ?? 1)))),
      signal: this.#stopping.signal,
    });
    // Stopped after the workers: it renews their slots until they have closed.
    this.#started.push({ name: 'heartbeat', stop: () => heartbeat.close() });

    this.#started.push({
      name: 'workers',
      // Graceful phase bounded by shutdown.timeoutSeconds, then forced (the pool owns both).
      stop: () => pool.close({ graceMs: config.shutdown.timeoutSeconds * 1000, forceMs: STEP_TIMEOUT_MS }),
    });
    scaler.start();
    this.#started.push({ name: 'scaler', stop: () => scaler.close() });

    const bridge = new Bridge({
      queues: config.queues,
      redis: config.redis,
      bridge: config.bridge,
      jobs: config.jobs,
      bridgeId: config.bridge.id,
      logger: log,
      onMoved: (queue, count) => {
        this.events.emit('bridged', { queue, count });
        scaler.nudge();
        cluster.nudgeOthers(); // only this bridge saw the burst: every instance starts its share now
      },
      onInvalid: (queue, reason) => this.events.emit('invalid', { queue, reason }),
      onDuplicate: (queue, id) => this.events.emit('duplicate', { queue, id }),
      onInvalidDropped: (queue, count) => this.events.emit('invalid-dropped', { queue, count }),
      onOversizedDropped: (queue) => this.events.emit('oversized-dropped', { queue }),
      // A dead instance's bridge may have left a batch in its processing lists: one live one takes it.
      orphans: cluster.orphans,
      leases: (sourceList) => cluster.leaseFor(sourceList),
      replicaWait,
    });
    await bridge.start();
    bridgeRef.current = bridge;
    this.#started.push({ name: 'bridge', stop: () => bridge.close() });

    const alerts = new AlertMonitor({
      config: config.alerts,
      status,
      outcomes,
      logger: log.child({ component: 'alerts' }),
    });
    alerts.start();
    this.#started.push({ name: 'alerts', stop: () => alerts.close() });

    log.info(
      `serviço pronto: filas ${config.queues.map((q) => `${q.name} (${q.sourceList} → ${q.flow})`).join(', ')}; ` +
        `scaler a cada ${config.scaler.intervalSeconds}s, ${config.scaler.jobsPerWorker} jobs/worker, ` +
        `máx. ${Object.entries(caps().maxWorkers)
          .map(([q, n]) => `${n} ${q}`)
          .join(', ')} e ${caps().maxTotalWorkers} no total (limites do pool)`,
    );
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
