/**
 * The intake: the BullMQ queues on the service's connection, one record per configured queue, and
 * the bridge that moves the poller's items into them.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Bridge } from '../bridge/bridge.js';
import type { AppConfig, QueueConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceEvents } from '../shared/events.js';
import type { ServiceCluster } from './cluster-wiring.js';
import type { ServiceRedis } from './redis-wiring.js';
import type { StartedParts } from './stoppable.js';

/** One configured queue and its BullMQ queue on the service's connection. */
export interface ServiceQueue {
  readonly config: QueueConfig;
  readonly queue: Queue;
}

/** One {@link ServiceQueue} per configured queue, in configuration order. */
export function openQueues(config: AppConfig, redis: Redis, started: StartedParts): ServiceQueue[] {
  const queues = config.queues.map((q) => ({
    config: q,
    queue: new Queue(q.name, { connection: redis, prefix: config.redis.prefix, skipVersionCheck: true }),
  }));
  for (const { queue } of queues) queue.on('error', () => undefined); // the connection watcher reports outages
  started.push({
    name: 'queues',
    stop: async () => void (await Promise.allSettled(queues.map(({ queue }) => queue.close()))),
  });
  return queues;
}

/**
 * The bridge, built but not started (it opens nothing until `start()`): the status reads its stuck
 * queues from the first request on (none before it runs). Every item it moves is news for the
 * scaler, here and, through a nudge, on every other instance.
 */
export function bridgeOf(deps: {
  readonly config: AppConfig;
  readonly logger: Logger;
  readonly events: ServiceEvents;
  readonly redis: ServiceRedis;
  readonly cluster: ServiceCluster;
  readonly scaler: { nudge(kind?: 'items' | 'change'): void };
}): Bridge {
  const { config, events, cluster, scaler } = deps;
  return new Bridge({
    queues: config.queues,
    redis: config.redis,
    bridge: config.bridge,
    jobs: config.jobs,
    bridgeId: config.bridge.id,
    logger: deps.logger,
    onMoved: (queue, count) => {
      events.emit('bridged', { queue, count });
      scaler.nudge('items');
      cluster.nudgeOthers(); // only this bridge saw the burst: every instance starts its share now
    },
    onInvalid: (queue, reason) => events.emit('invalid', { queue, reason }),
    onDuplicate: (queue, id) => events.emit('duplicate', { queue, id }),
    onInvalidDropped: (queue, count) => events.emit('invalid-dropped', { queue, count }),
    onOversizedDropped: (queue) => events.emit('oversized-dropped', { queue }),
    // A dead instance's bridge may have left a batch in its processing lists: one live one takes it.
    orphans: cluster.orphans,
    leases: (sourceList) => cluster.leaseFor(sourceList),
    replicaWait: deps.redis.replicaWait,
  });
}

/** Starts the bridge's loops, the last intake step (after the workers and the scaler run). */
export async function startBridge(bridge: Bridge, started: StartedParts): Promise<void> {
  await bridge.start();
  started.push({ name: 'bridge', stop: () => bridge.close() });
}
