import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import { ReplicaWait } from '../redis/replica-wait.js';
import type { StartedParts } from './stoppable.js';

/** What every part of the service shares of Redis. */
export interface ServiceRedis {
  /** The service's command connection (queues, decisions, pool membership, job times, status). */
  readonly connection: Redis;
  /** Whether the replicas answer WAIT is one state, shared by the bridge and the units. */
  readonly replicaWait: ReplicaWait;
}

/** Opens the service's command connection (it connects in the background: nothing waits here). */
export function openRedis(config: AppConfig, logger: Logger, started: StartedParts): ServiceRedis {
  const connection = createRedis(config.redis, 'command', logger.child({ component: 'redis' }), 'service');
  started.push({
    name: 'redis',
    // QUIT would wait in the offline queue while Redis is down: drop the socket then.
    stop: async () => {
      if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    },
  });
  const replicaWait = new ReplicaWait({
    replicas: config.redis.waitReplicas ?? 0,
    timeoutMs: config.redis.waitTimeoutMs ?? 1000,
    logger: logger.child({ component: 'redis' }),
  });
  return { connection, replicaWait };
}
