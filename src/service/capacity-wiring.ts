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
import type { CapacityBound, QueueLimits } from '../scaler/decide.js';
import type { Capacity } from '../capacity/capacity.js';
import { CapacityMonitor, systemLoadSources } from '../capacity/capacity-monitor.js';
import { JobTimes } from '../capacity/job-times.js';
import type { ServiceEvents } from '../shared/events.js';
import type { CapacityStatus } from '../shared/status.js';

export interface ServiceCapacity {
  readonly monitor: CapacityMonitor;
  readonly jobTimes: JobTimes;
  /** The scaler's capacity input; undefined with `capacity.enabled: false` (the plain rule). */
  readonly bound: () => CapacityBound | undefined;
  /** A queue's limits for the decision: the learned divisor only where `jobsPerWorker` is "auto". */
  queueLimits(queue: QueueConfig): QueueLimits;
  /** For /api/status and /metrics. */
  status(): CapacityStatus;
  close(): void;
}

export function startCapacity(deps: {
  readonly config: AppConfig;
  readonly redis: Redis;
  readonly pool: { totalCounted(): number };
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
  const sources = systemLoadSources({
    browsers: () => ({ mb: [...browsers.values()].reduce((a, b) => a + b, 0), count: browsers.size }),
    units: () => pool.totalCounted(),
  });
  const monitor = new CapacityMonitor({ options: config.capacity, sources });
  const enabled = config.capacity.enabled;
  // A change of units is news for operators; the gate alone flips often on a busy machine (debug).
  let loggedUnits: number | undefined;
  monitor.on('changed', (c) => {
    const level = c.units !== loggedUnits ? 'info' : 'debug';
    loggedUnits = c.units;
    logger.log(level, capacityLine(c, enabled), { capacity: c.units, reason: c.reason });
  });
  monitor.start();
  return {
    monitor,
    jobTimes,
    bound: () => {
      const c = monitor.capacity;
      if (!enabled || !c) return undefined;
      return { units: c.units, reason: c.reason, overloaded: c.overloaded, overloadReason: c.overloadReason };
    },
    queueLimits: (q) => ({
      jobsPerWorker: q.jobsPerWorker,
      minWorkers: q.minWorkers,
      maxWorkers: q.maxWorkers,
      ...(q.autoDivisor && q.targetDrainSeconds ? { targetDrainSeconds: q.targetDrainSeconds } : {}),
    }),
    status: () => capacityStatus(monitor, enabled, sources),
    close: () => {
      monitor.close();
      sources.close();
    },
  };
}

/** `[CAPACIDADE] 2 worker(s): CPU 97% (2 núcleos); sobrecarga: ...` */
export function capacityLine(c: Capacity, enabled: boolean): string {
  const gate = c.overloaded ? `; sobrecarga (${c.overloadReason ?? ''}): nenhum worker novo` : '';
  const mode = enabled ? '' : ' (capacity.enabled: false, só informativo)';
  return `[CAPACIDADE] ${c.units} worker(s): ${c.reason}${gate}${mode}`;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

function capacityStatus(
  monitor: CapacityMonitor,
  enabled: boolean,
  sources: { cpu: { read(): { source?: string } | undefined }; memory: { read(): { source?: string } | undefined } },
): CapacityStatus {
  const { capacity: c, short, long, latest } = monitor.view();
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
    units: c?.units ?? null,
    limitedBy: c?.limitedBy ?? null,
    reason: c?.reason ?? null,
    overloaded: c?.overloaded ?? false,
    overloadReason: c?.overloadReason ?? null,
    cores: latest ? round1(latest.cores) : null,
    cpuPercent: short ? Math.round(short.cpuRatio * 100) : null,
    ourCores: short ? round1(short.ourCores) : null,
    otherCores: short ? round1(short.otherCores) : null,
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
