/**
 * The capacity part of the service, wired once: the monitor on this machine's signals, the
 * browsers' PSS as the workers report it, the job-time store fed by finished jobs, the CPU per
 * unit shared with the pool through Redis, and the `[CAPACIDADE]` log lines. The service passes
 * the bound and the job times to the scaler.
 */
import os from 'node:os';
import { jobTimesKeyPrefix, unitCpuKeyPrefix } from '../redis/keys.js';
import type { Redis } from 'ioredis';
import type { AppConfig, QueueConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { Turns } from '../lib/turns.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { capacityLimitText, capacityLine, overloadText, poolCostLine } from '../logging/scaling-lines.js';
import type { CapacityBound, QueueLimits } from '../scaler/decide.js';
import { CapacityMonitor, systemLoadSources } from '../capacity/capacity-monitor.js';
import { launchPaused } from '../capacity/capacity.js';
import { JobTimes } from '../capacity/job-times.js';
import { UnitCostStore } from '../capacity/unit-cost-store.js';
import type { ServiceEvents } from '../shared/events.js';
import type { CapacityStatus } from '../shared/status.js';

export interface ServiceCapacity {
  readonly monitor: CapacityMonitor;
  readonly jobTimes: JobTimes;
  /** The scaler's capacity input; undefined with `capacity.enabled: false` (the plain rule). */
  readonly bound: () => CapacityBound | undefined;
  /** This instance's units for its current mix of queues, as published to the pool; undefined when off. */
  readonly published: () => CapacityBound | undefined;
  /** A queue's limits for the decision: the learned divisor only where `jobsPerWorker` is "auto". */
  queueLimits(queue: QueueConfig): QueueLimits;
  /** For /api/status and /metrics. */
  status(): CapacityStatus;
  /** Stops sampling, and writes the queues measured since the last share to the pool. */
  close(): Promise<void>;
}

/** How often an instance writes what its units measured and reads the pool's figure for the queues it has not. */
const SHARE_COSTS_EVERY_MS = 10_000;
const FINAL_SHARE_TIMEOUT_MS = 2_000;

/**
 * The load signals, the units' CPU tracker and the browser launches' turns, made before the pool:
 * it hands each unit it makes to `tracker.track`, and its units launch in `launches`' turns.
 */
export type CapacitySources = ReturnType<typeof systemLoadSources> & {
  /** Browser launches take turns; undefined with `capacity.enabled: false` (every unit launches at once). */
  readonly launches: Turns | undefined;
};

/**
 * The signals {@link startCapacity} reads. With capacity on, browsers launch in turns:
 * `capacity.maxLaunching` at once, or one per two cores as the CPU signal reads them (a launch
 * keeps about two busy), so a burst's first units work while the rest launch, and a unit the
 * capacity bound cuts before its turn never launches.
 */
export function capacitySources(config: AppConfig): CapacitySources {
  const signals = systemLoadSources();
  const cores = (): number => signals.cpu.read()?.cores ?? os.availableParallelism();
  const launches = config.capacity.enabled
    ? new Turns(() => config.capacity.maxLaunching || Math.max(1, Math.floor(cores() / 2)))
    : undefined;
  return { ...signals, launches };
}

export function startCapacity(deps: {
  readonly config: AppConfig;
  readonly redis: Redis;
  readonly sources: CapacitySources;
  readonly pool: { counts(queue: string): { readonly counted: number } };
  readonly events: ServiceEvents;
  readonly logger: Logger;
}): ServiceCapacity {
  const { config, redis, pool, events, logger } = deps;
  const browsers = new Map<string, number>();
  events.on('browser-memory', ({ worker, pssBytes }) => {
    if (pssBytes === null) browsers.delete(worker);
    else browsers.set(worker, pssBytes / (1024 * 1024));
  });
  const jobTimes = new JobTimes(redis, 200, jobTimesKeyPrefix(config.redis.prefix));
  events.on('job-finished', ({ queue, outcome, durationMs }) => {
    if (outcome !== 'ok') return;
    jobTimes.record(queue, durationMs).catch((err: unknown) => {
      logger.debug(`não foi possível registrar um tempo de job: ${coerceError(err).message}`);
    });
  });
  const sources = {
    ...deps.sources,
    browsers: () => ({ mb: [...browsers.values()].reduce((a, b) => a + b, 0), count: browsers.size }),
    units: () => Object.fromEntries(config.queues.map((q) => [q.name, pool.counts(q.name).counted])),
  };
  const monitor = new CapacityMonitor({ options: config.capacity, sources });
  const enabled = config.capacity.enabled;
  // A change of the units that can matter (up to the total cap), or of what bounds them, is news for
  // operators; the gate alone flips often on a busy machine, and a memory bound of 140 moving to
  // 141 says nothing (debug).
  const ceiling = Math.min(config.scaler.maxTotalWorkers, config.instance.maxWorkers);
  let logged: string | undefined;
  monitor.on('changed', (c) => {
    const news = `${Math.min(c.units, ceiling)}:${c.limit.signal}`;
    const level = news !== logged ? 'info' : 'debug';
    logged = news;
    logger.log(level, capacityLine(c, enabled), {
      capacity: Number.isFinite(c.units) ? c.units : null,
      limit: c.limit.signal,
    });
  });
  // A queue's browser launches pause while the machine has no room for one (launchPaused): the
  // launch would take CPU from the units at work, and the capacity bound may yet retire the unit
  // waiting for it. Looked at again at every sample (room appears, or a queue's last working unit
  // closed and its next may go).
  const launches = deps.sources.launches;
  if (launches) {
    const tracker = deps.sources.tracker;
    launches.pauseWhile((queue) => launchPaused(monitor.capacity, queue, tracker.workingCores));
    monitor.on('sampled', () => launches.recheck());
  }
  monitor.start();
  const costs = shareCosts(
    monitor,
    new UnitCostStore(redis, unitCpuKeyPrefix(config.redis.prefix), config.metrics.retentionDays * 86_400),
    {
      queues: config.queues.map((q) => q.name),
      instance: config.instance.id,
      logger,
    },
  );
  return {
    monitor,
    jobTimes,
    bound: () => {
      const c = monitor.capacity;
      if (!enabled || !c) return undefined;
      return {
        units: c.otherUnits,
        limit: c.otherLimit,
        ...(c.cpu ? { cpu: c.cpu } : {}),
        overloaded: c.overloaded,
        ...(c.overload ? { overload: c.overload } : {}),
      };
    },
    published: () => {
      const c = monitor.capacity;
      if (!enabled || !c) return undefined;
      return { units: c.units, limit: c.limit, overloaded: c.overloaded };
    },
    queueLimits: (q) => ({
      jobsPerWorker: q.jobsPerWorker,
      minWorkers: q.minWorkers,
      maxWorkers: q.maxWorkers,
      ...(q.autoDivisor && q.targetDrainSeconds ? { targetDrainSeconds: q.targetDrainSeconds } : {}),
      ...(q.rateLimit ? { rateLimit: q.rateLimit } : {}),
    }),
    status: () => capacityStatus(monitor, enabled, sources, config.queues),
    close: async () => {
      monitor.close();
      sources.close();
      await costs.close();
    },
  };
}

/**
 * Every {@link SHARE_COSTS_EVERY_MS} (and once at start): writes the queues this instance's units
 * measured since the last time to the pool's store, and starts each queue it has not measured
 * from the pool's figure. A Redis error skips one round (logged at debug); the estimate here is
 * unaffected.
 */
function shareCosts(
  monitor: CapacityMonitor,
  store: UnitCostStore,
  o: { readonly queues: readonly string[]; readonly instance: string; readonly logger: Logger },
): { close(): Promise<void> } {
  const told = new Set<string>();
  let running: Promise<void> = Promise.resolve();
  const round = async (): Promise<void> => {
    await store.save(monitor.takeChangedCosts(), o.instance);
    const unmeasured = o.queues.filter((q) => !monitor.measuredHere(q));
    if (unmeasured.length === 0) return;
    const stored = await store.load(unmeasured);
    const seeded = monitor.seedCosts(stored);
    const perUnit = monitor.view().costs;
    for (const queue of seeded) {
      const from = stored[queue];
      const cost = perUnit[queue]?.perUnit;
      if (!from || cost === null || cost === undefined) continue;
      o.logger.log(
        told.has(queue) ? 'debug' : 'info',
        poolCostLine(queue, cost, from.instance, (Date.now() - from.at) / 1000),
        { queue, cpuPerUnit: cost, from: from.instance },
      );
      told.add(queue);
    }
  };
  const tick = (): void => {
    running = running.then(round).catch((err: unknown) => {
      o.logger.debug(`CPU por worker não compartilhada: ${coerceError(err).message}`);
    });
  };
  tick();
  const timer = setInterval(tick, SHARE_COSTS_EVERY_MS);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      tick(); // the last measurements, for the next start or another instance
      // Bounded: with Redis unreachable the write would wait for the reconnection.
      await withTimeout(running, FINAL_SHARE_TIMEOUT_MS, 'sharing the CPU per worker').catch(() => undefined);
    },
  };
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const round2 = (n: number): number => Math.round(n * 100) / 100;

function capacityStatus(
  monitor: CapacityMonitor,
  enabled: boolean,
  sources: {
    cpu: { read(): { source?: string } | undefined };
    memory: { read(): { source?: string } | undefined };
    launches: Turns | undefined;
  },
  queues: readonly QueueConfig[],
): CapacityStatus {
  const { capacity: c, costs, short, long, latest } = monitor.view();
  const launches = sources.launches;
  const shares = (w: typeof short): CapacityStatus['overloadedShort'] =>
    w
      ? {
          cpu: round1(w.overloaded.cpu * 100) / 100,
          memory: round1(w.overloaded.memory * 100) / 100,
          eventLoop: round1(w.overloaded.eventLoop * 100) / 100,
        }
      : null;
  return {
    enabled,
    units: c && Number.isFinite(c.units) ? c.units : null,
    limitedBy: c?.limit.signal ?? null,
    reason: c ? capacityLimitText(c.limit) : null,
    limit: c?.limit ?? null,
    overloaded: c?.overloaded ?? false,
    overloadReason: c?.overload ? overloadText(c.overload) : null,
    overload: c?.overload ?? null,
    cores: latest ? round1(latest.cores) : null,
    cpuPercent: short ? Math.round(short.cpuRatio * 100) : null,
    ourCores: short ? round1(short.ourCores) : null,
    otherCores: c?.cpu
      ? round1(c.cpu.otherCores)
      : short
        ? round1(Math.max(short.otherCores, long?.otherCores ?? 0))
        : null,
    freeCores: c?.cpu ? round1(c.cpu.freeCores) : null,
    cpuPerUnit: Object.fromEntries(
      queues.map((q) => {
        const perUnit = costs[q.name]?.perUnit;
        return [q.name, perUnit === null || perUnit === undefined ? null : round2(perUnit)];
      }),
    ),
    unitCpu: Object.fromEntries(
      Object.entries(costs).map(([q, v]) => [
        q,
        {
          busySeconds: round1(v.busySeconds),
          cpuSeconds: round2(v.cpuSeconds),
          waitSeconds: round2(v.waitSeconds),
          from: v.from,
        },
      ]),
    ),
    launches: launches
      ? { limit: launches.limit, launching: launches.held, waiting: launches.waiting, paused: launches.paused }
      : null,
    memoryUsedMb: latest ? Math.round(latest.memoryUsedMb) : null,
    memoryLimitMb: latest ? Math.round(latest.memoryLimitMb) : null,
    browserMb: latest ? Math.round(latest.browserMb) : null,
    browsers: latest?.browsersMeasured ?? 0,
    unitMemoryMb: c?.unitMemoryMb ?? null,
    eventLoopDelayMs: short ? Math.round(short.eventLoopDelayMs) : null,
    overloadedShort: shares(short),
    overloadedLong: shares(long),
    source: { cpu: sources.cpu.read()?.source ?? null, memory: sources.memory.read()?.source ?? null },
  };
}
