import type { AppConfig } from '../config/types.js';
import type { Flow } from '../flows/flow.js';
import type { Logger } from '../logging/logger.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import type { ServiceEvents } from '../shared/events.js';
import type { Turns } from '../lib/turns.js';
import { WorkerUnit } from '../workers/worker-unit.js';

/** Stalls a job may survive before BullMQ fails it; the janitor and every unit use the same. */
export const MAX_STALLED_COUNT = 2;

/** What {@link createWorkerUnit} needs from the service. */
export interface UnitFactoryContext {
  readonly config: AppConfig;
  readonly flows: ReadonlyMap<string, Flow>;
  readonly logger: Logger;
  /** Where the unit's job outcomes, browser restarts and memory measures are published. */
  readonly events: ServiceEvents;
  /** The service's one {@link ReplicaWait} (its state: whether replicas answer). */
  readonly replicaWait?: ReplicaWait;
  /** Browser launches take turns (capacity on; unit n of each queue before n + 1); absent: every unit launches at once. */
  readonly launches?: {
    readonly turns: Turns;
    /** Units of the queue that work now (ready or busy): with none, its next unit launches even while the turns pause. */
    readonly working: (queue: string) => number;
  };
}

/** A real worker unit (BullMQ Worker + Chromium) for the pool: unit `index` of `queueName`. */
export function createWorkerUnit(ctx: UnitFactoryContext, queueName: string, index: number): WorkerUnit {
  const { config, events } = ctx;
  const queue = config.queues.find((q) => q.name === queueName);
  const flow = ctx.flows.get(queueName);
  if (!queue || !flow) throw new Error(`unknown queue '${queueName}'`);
  return new WorkerUnit({
    queue,
    index,
    flow,
    browser: config.browser,
    portal: config.portal,
    redis: config.redis,
    artifactsDir: config.artifactsDir,
    logger: ctx.logger.child({ component: 'worker', queue: queueName }),
    keepCompletedSeconds: config.jobs.keepCompletedSeconds,
    keepCompletedJobSeconds: config.jobs.keepCompletedJobSeconds,
    keepFailedSeconds: config.jobs.keepFailedSeconds,
    lockDurationMs: config.jobs.lockSeconds * 1000,
    stalledIntervalMs: config.scaler.stalledIntervalMs,
    maxStalledCount: MAX_STALLED_COUNT,
    ...(ctx.replicaWait ? { replicaWait: ctx.replicaWait } : {}),
    ...(ctx.launches ? { launchTurn: launchTurnOf(ctx.launches, queueName, index) } : {}),
    onJobFinished: (info) => events.emit('job-finished', info),
    onBrowserRestart: (info) => events.emit('browser-restart', info),
    onBrowserMemory: ({ queue: q, worker, memory }) =>
      events.emit('browser-memory', { queue: q, worker, pssBytes: memory ? memory.pssMb * 1024 * 1024 : null }),
  });
}

/** A unit's place in the launch line: its index is its rank, its queue its group. */
function launchTurnOf(
  { turns, working }: NonNullable<UnitFactoryContext['launches']>,
  queue: string,
  index: number,
): (signal: AbortSignal) => Promise<(() => void) | undefined> {
  return (signal) => turns.take({ signal, rank: index, group: queue, alone: () => working(queue) === 0 });
}
