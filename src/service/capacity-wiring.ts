/**
 * The capacity part of the service, wired once: the monitor on this machine's signals, the
 * browsers' PSS as the workers report it, the job-time store fed by finished jobs, and the
 * `[CAPACIDADE]` log lines. The service passes the bound and the job times to the scaler.
 */
import { jobTimesKeyPrefix } from '../redis/keys.js';
import type { Redis } from 'ioredis';
import type { AppConfig, QueueConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import type { Logger } from '../logging/logger.js';
import { capacityLimitText, capacityLine, overloadText } from '../logging/scaling-lines.js';
import type { CapacityBound, QueueLimits } from '../scaler/decide.js';
import { CapacityMonitor, systemLoadSources } from '../capacity/capacity-monitor.js';
import { JobTimes } from '../capacity/job-times.js';
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
  close(): void;
}

/** The load signals and the units' CPU tracker, made before the pool: it hands each unit it makes to `track`. */
export type CapacitySources = ReturnType<typeof systemLoadSources>;

/** The signals {@link startCapacity} reads; the pool tracks its units with `sources.tracker`. */
export function capacitySources(): CapacitySources {
  return systemLoadSources();
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
  monitor.start();
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
    close: () => {
      monitor.close();
      sources.close();
    },
  };
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const round2 = (n: number): number => Math.round(n * 100) / 100;

function capacityStatus(
  monitor: CapacityMonitor,
  enabled: boolean,
  sources: { cpu: { read(): { source?: string } | undefined }; memory: { read(): { source?: string } | undefined } },
  queues: readonly QueueConfig[],
): CapacityStatus {
  const { capacity: c, costs, short, long, latest } = monitor.view();
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
        { busySeconds: round1(v.busySeconds), cpuSeconds: round2(v.cpuSeconds), waitSeconds: round2(v.waitSeconds) },
      ]),
    ),
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
