/**
 * The work: the pool membership shared with other instances, the worker pool making real units,
 * the capacity monitor, the scaler driving the pool, and (once Redis answers) the janitor, the
 * heartbeat and the scaler's loop.
 */
import type { AppConfig } from '../config/types.js';
import type { Flow } from '../flows/flow.js';
import { systemClock } from '../lib/sleep.js';
import type { Turns } from '../lib/turns.js';
import type { Logger } from '../logging/logger.js';
import type { UnitCpu } from '../capacity/unit-cpu.js';
import { StalledJanitor } from '../pool/janitor.js';
import { WorkerPool } from '../pool/worker-pool.js';
import { decisionsKey } from '../redis/keys.js';
import type { ScaleLimits } from '../scaler/decide.js';
import { DecisionHistory } from '../scaler/decision-history.js';
import { RedisQueueDepthSource, type QueueDepthSource } from '../scaler/queue-depth.js';
import { DEFAULT_KNEE } from '../scaler/knee.js';
import { Scaler } from '../scaler/scaler.js';
import type { ServiceEvents } from '../shared/events.js';
import { capacitySources, startCapacity, type ServiceCapacity } from './capacity-wiring.js';
import { clusterOf, instanceCapacityOf, type ServiceCluster } from './cluster-wiring.js';
import type { ServiceQueue } from './intake-wiring.js';
import type { ServiceRedis } from './redis-wiring.js';
import { STEP_TIMEOUT_MS, type StartedParts } from './stoppable.js';
import { createWorkerUnit, MAX_STALLED_COUNT } from './unit-factory.js';

export interface WorkDeps {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly events: ServiceEvents;
  readonly flows: ReadonlyMap<string, Flow>;
  readonly redis: ServiceRedis;
  readonly queues: readonly ServiceQueue[];
}

/** The work's parts the rest of the service reads (status, HTTP, bridge) or starts later ({@link startWork}). */
export interface Work {
  readonly cluster: ServiceCluster;
  readonly pool: WorkerPool;
  readonly capacity: ServiceCapacity;
  readonly scaler: Scaler;
  readonly history: DecisionHistory;
  readonly depth: QueueDepthSource;
  /** This instance's capacity in the pool now (units over all queues). */
  readonly instanceCapacity: () => number;
}

/**
 * Builds the work and starts what needs no Redis (the capacity monitor). The scaler is built, not
 * started: it is woken by finished jobs and capacity changes from the start, and loops once
 * {@link startWork} runs.
 */
export function wireWork(deps: WorkDeps, started: StartedParts): Work {
  const { config, logger, events, redis } = deps;
  const cluster = clusterOf(config, redis.connection);
  // Made before the pool, which hands it every unit: each queue's CPU per busy unit bounds it.
  const sources = capacitySources(config);
  const pool = poolOf(deps, cluster, sources.tracker, sources.launches);
  const capacity = startCapacity({
    config,
    redis: redis.connection,
    sources,
    pool,
    events,
    logger: logger.child({ component: 'capacity' }),
  });
  started.push({ name: 'capacity', stop: () => capacity.close() });
  const instanceCapacity = (): number =>
    instanceCapacityOf(config.instance.maxWorkers, capacity.published(), pool.totalCounted());
  const history = new DecisionHistory(redis.connection, config.scaler.historyMaxLen, decisionsKey(config.redis.prefix));
  const depth = new RedisQueueDepthSource(redis.connection, deps.queues);
  const scaler = scalerOf(deps, { cluster, pool, capacity, history, depth, instanceCapacity });
  announceDecisions(scaler, events);
  // Finished jobs change the backlog: evaluate soon so scale-down need not wait for the tick.
  events.on('job-finished', () => scaler.nudge());
  capacity.monitor.on('changed', () => scaler.nudge());
  return { cluster, pool, capacity, scaler, history, depth, instanceCapacity };
}

/** What {@link startWork} needs besides the work. */
export interface StartWorkDeps {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly queues: readonly ServiceQueue[];
  /** Aborts the join (a stop requested while a predecessor's record is waited out). */
  readonly signal: AbortSignal;
}

/**
 * Once Redis answers, in this order: the janitor (BullMQ's stalled check for every queue), the
 * heartbeat (joins the pool, applies its caps as BullMQ's global concurrency, then beats), the
 * workers' two-phase stop, the scaler's loop. Rejects when the join is refused (a ConfigError).
 */
export async function startWork(work: Work, deps: StartWorkDeps, started: StartedParts): Promise<void> {
  const { pool, scaler } = work;
  await startJanitor(deps, scaler, started);
  await startHeartbeat(work, deps, started);
  started.push({
    name: 'workers',
    // Graceful phase bounded by shutdown.timeoutSeconds, then forced (the pool owns both).
    stop: () => pool.close({ graceMs: deps.config.shutdown.timeoutSeconds * 1000, forceMs: STEP_TIMEOUT_MS }),
  });
  scaler.start();
  started.push({ name: 'scaler', stop: () => scaler.close() });
}

/** Keeps BullMQ's stalled check running for every queue; a job back to waiting wakes the scaler. */
async function startJanitor(deps: StartWorkDeps, scaler: Scaler, started: StartedParts): Promise<void> {
  const { config } = deps;
  const janitor = new StalledJanitor({
    queues: config.queues,
    redis: config.redis,
    logger: deps.logger.child({ component: 'janitor' }),
    stalledIntervalMs: config.scaler.stalledIntervalMs,
    maxStalledCount: MAX_STALLED_COUNT,
    keepFailedSeconds: config.jobs.keepFailedSeconds,
    onStalled: () => scaler.nudge(),
  });
  await janitor.start();
  started.push({ name: 'janitor', stop: () => janitor.close() });
}

/** Joins the pool and beats; instances coming or going, and new caps, wake the scaler. */
async function startHeartbeat(work: Work, deps: StartWorkDeps, started: StartedParts): Promise<void> {
  const { scaler } = work;
  const heartbeat = await work.cluster.startHeartbeat({
    pool: work.pool,
    capacity: work.instanceCapacity,
    logger: deps.logger.child({ component: 'instance' }),
    onChange: () => scaler.nudge(),
    onItems: () => scaler.nudge('items'),
    // The hard per-queue cap on active jobs, enforced by BullMQ inside Redis for every instance.
    applyCaps: async (caps) => {
      await Promise.all(deps.queues.map((q) => q.queue.setGlobalConcurrency(caps.maxWorkers[q.config.name] ?? 1)));
    },
    signal: deps.signal,
  });
  // Stopped after the workers: it renews their slots until they have closed.
  started.push({ name: 'heartbeat', stop: () => heartbeat.close() });
}

/**
 * The worker pool under the caps in effect (the pool's, stored in Redis, once joined) and the
 * global slots; every unit it makes is followed by `tracker` (its CPU per busy unit) and, with
 * `launches`, waits its turn to launch its browser.
 */
function poolOf(
  deps: WorkDeps,
  cluster: ServiceCluster,
  tracker: Pick<UnitCpu, 'track'>,
  launches: Turns | undefined,
): WorkerPool {
  const { config, logger, events, flows } = deps;
  const caps = cluster.caps;
  const unitContext = {
    config,
    flows,
    logger,
    events,
    replicaWait: deps.redis.replicaWait,
    ...(launches
      ? {
          launches: {
            turns: launches,
            working: (queue: string): number => {
              const c = pool.counts(queue);
              return c.ready + c.busy;
            },
          },
        }
      : {}),
  };
  const pool: WorkerPool = new WorkerPool({
    get maxWorkersByQueue() {
      return caps().maxWorkers;
    },
    get maxTotalWorkers() {
      return Math.min(caps().maxTotalWorkers, config.instance.maxWorkers);
    },
    logger: logger.child({ component: 'pool' }),
    createUnit: (queueName, index) => {
      const unit = createWorkerUnit(unitContext, queueName, index);
      tracker.track(queueName, unit);
      return unit;
    },
    slots: cluster.slots,
    fenced: cluster.fenced,
    clock: systemClock,
  });
  return pool;
}

/** The scaler over this instance's pool, deciding for the whole pool of instances. */
function scalerOf(deps: WorkDeps, parts: Omit<Work, 'scaler'>): Scaler {
  const { config, logger } = deps;
  const { cluster, pool, capacity } = parts;
  return new Scaler({
    source: parts.depth,
    pool,
    history: parts.history,
    cluster: cluster.scaler({ capacity: parts.instanceCapacity, units: () => pool.liveByQueue() }),
    limits: limitsOf(config, cluster, capacity),
    capacity: capacity.bound,
    jobTimes: capacity.jobTimes,
    logger: logger.child({ component: 'scaler' }),
    intervalMs: config.scaler.intervalSeconds * 1000,
    debounceMs: config.scaler.debounceMs,
    equilibriumLogLevel: config.scaler.equilibriumLogLevel,
    clock: systemClock,
  });
}

/** The scaler's limits: each queue's rule and the caps in effect, read at every evaluation. */
function limitsOf(config: AppConfig, cluster: ServiceCluster, capacity: ServiceCapacity): ScaleLimits {
  const caps = cluster.caps;
  return {
    get queues() {
      return Object.fromEntries(
        config.queues.map((q) => [q.name, { ...capacity.queueLimits(q), maxWorkers: caps().maxWorkers[q.name] ?? 0 }]),
      );
    },
    get maxTotalWorkers() {
      return caps().maxTotalWorkers;
    },
    stabilizationMs: config.scaler.stabilizationSeconds * 1000,
    minJobSamples: config.capacity.minJobSamples,
    // The portal's knee is part of capacity: off, the plain rule runs.
    ...(config.capacity.enabled ? { knee: DEFAULT_KNEE } : {}),
  };
}

/** Every instance makes the same global decision; the reporter alone emits its changes as `scaled`. */
function announceDecisions(scaler: Scaler, events: ServiceEvents): void {
  scaler.on('evaluated', (plans, _depths, reporter) => {
    if (!reporter) return;
    for (const p of plans) {
      if (p.action === 'hold') continue;
      events.emit('scaled', { queue: p.queue, action: p.action, from: p.current, to: p.target, pending: p.pending });
    }
  });
}
