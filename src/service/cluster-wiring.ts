/**
 * The several-instances part of the service, wired once (CONTRACT.md "Several instances"): the
 * pool membership in Redis, the unit slots the worker pool starts under, the other instances as
 * the scaler sees them, the dead bridges the bridge takes over, and the heartbeat.
 */
import type { Redis } from 'ioredis';
import type { OrphanBridges } from '../bridge/bridge.js';
import type { ListLease } from '../bridge/list-lease.js';
import { InstanceHeartbeat } from '../cluster/instance-heartbeat.js';
import { PoolMembership, type PoolSnapshot } from '../cluster/pool-membership.js';
import { SelfFence, type FenceState } from '../cluster/self-fence.js';
import type { AppConfig } from '../config/types.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import type { CapacityBound } from '../scaler/decide.js';
import type { ScalerCluster } from '../scaler/scaler.js';
import type { UnitSlots, WorkerPool } from '../scaler/worker-pool.js';
import { SERVICE_VERSION } from './version.js';

/** A dead bridge's lists are taken over by one instance; another retries after this if it dies too. */
const ORPHAN_CLAIM_MS = 60_000;

export interface ServiceCluster {
  readonly slots: UnitSlots;
  readonly orphans: OrphanBridges;
  /** One bridge per source list at a time. */
  leaseFor(sourceList: string): ListLease;
  scaler(capacity: () => number): ScalerCluster;
  snapshot(): Promise<PoolSnapshot>;
  /** Asks the other instances to evaluate now (errors logged at debug, never thrown). */
  nudgeOthers(): void;
  /** Self-fencing (undefined before the heartbeat starts): `/readyz` and `/metrics` show it. */
  readonly fence: () => FenceState | undefined;

  /**
   * Beats once, then every `instance.heartbeatMs`; `onChange` when instances come or go, and when
   * another instance nudges (it bridged new items): every instance then starts its share at once.
   * Fences this instance (closes its units, starts none) when its renewals stop reaching Redis for
   * longer than its slots' lease minus one beat, and lifts the fence at the next renewal.
   */
  startHeartbeat(deps: {
    readonly pool: WorkerPool;
    readonly capacity: () => number;
    readonly logger: Logger;
    readonly onChange: () => void;
  }): Promise<{ close(): Promise<void> }>;
}

/**
 * This instance's capacity in the pool: `instance.maxWorkers`, lowered by the capacity-aware bound
 * when it is on, and to the units it runs while its machine is overloaded.
 */
export function instanceCapacityOf(maxWorkers: number, bound: CapacityBound | undefined, counted: number): number {
  if (!bound) return maxWorkers;
  const units = bound.overloaded ? Math.min(bound.units, counted) : bound.units;
  return Math.max(0, Math.min(maxWorkers, units));
}

export function clusterOf(config: AppConfig, redis: Redis): ServiceCluster {
  const self = config.instance;
  const ttlMs = self.heartbeatMs * 3;
  let fence: SelfFence | undefined;
  // Renewed every bridge loop: after a batch, or after an empty list's BLMOVE wait (blockSeconds).
  const leaseMs = Math.max(3 * self.heartbeatMs, config.bridge.blockSeconds * 1000 + 5000);
  const membership = new PoolMembership({
    redis,
    prefix: config.redis.prefix,
    queues: config.queues.map((q) => q.name),
    ttlMs,
  });
  return {
    slots: {
      claim: (queueName) =>
        membership.claimSlot(
          self.id,
          queueName,
          config.queues.find((q) => q.name === queueName)?.maxWorkers ?? 0,
          config.scaler.maxTotalWorkers,
        ),
      release: (queueName, index) => membership.releaseSlot(self.id, queueName, index),
    },
    orphans: {
      list: () => membership.orphanedBridges(),
      claim: (bridgeId) => membership.claimOrphan(bridgeId, self.id, ORPHAN_CLAIM_MS),
      forget: (bridgeId) => membership.forgetBridge(bridgeId),
    },
    leaseFor: (sourceList) => ({
      hold: () => membership.holdListLease(sourceList, config.bridge.id, leaseMs),
      release: () => membership.releaseListLease(sourceList, config.bridge.id),
      retryMs: self.heartbeatMs,
    }),
    scaler: (capacity) => ({
      selfId: self.id,
      capacity,
      fenced: () => fence?.fenced ?? false,
      // Others by the slots they hold (granted at once, unlike their last heartbeat's counts).
      instances: async () =>
        (await membership.snapshot()).instances.map((i) => ({ id: i.id, capacity: i.capacity, units: i.slots })),
    }),
    snapshot: () => membership.snapshot(),
    nudgeOthers: () => void membership.nudgeOthers(self.id).catch(() => undefined),
    fence: () => fence?.state(),

    async startHeartbeat({ pool, capacity, logger, onChange }) {
      let members = '';
      const selfFence = new SelfFence({
        ttlMs,
        renewEveryMs: self.heartbeatMs,
        onFence: (silentMs) => {
          const closing = pool.fence();
          logger.warn(
            `[ISOLADA] sem Redis há ${seconds(silentMs)} s (lease de ${seconds(ttlMs)} s): encerrando ${closing} worker(s) para não exceder os limites`,
          );
          if (pool.openUnits() === 0) selfFence.unitsClosed();
        },
      });
      fence = selfFence;
      pool.on('unit-state', (_queue, _unit, to) => {
        if (to === 'closed' && selfFence.fenced && pool.openUnits() === 0) selfFence.unitsClosed();
      });
      const heartbeat = new InstanceHeartbeat({
        membership,
        id: self.id,
        bridgeId: config.bridge.id,
        version: SERVICE_VERSION,
        capacity,
        units: () => Object.fromEntries(config.queues.map((q) => [q.name, pool.counts(q.name).live])),
        intervalMs: self.heartbeatMs,
        logger,
        monotonic: () => selfFence.now(),
        onRenewed: (held, sentAtMonotonic) => {
          if (!selfFence.renewed(sentAtMonotonic)) return;
          pool.rejoin(held);
          logger.info('[REINTEGRADA] Redis voltou: retomando');
          onChange();
        },
        onBeat: (snapshot, held, sentAt) => {
          pool.retireLapsed(held, sentAt);
          // An instance came or went: its share moves now, not at the next tick.
          const now = snapshot.instances.map((i) => i.id).join(', ');
          if (now === members) return;
          if (members !== '') logger.info(`instâncias vivas: ${now}`);
          members = now;
          onChange();
        },
      });
      await heartbeat.start();
      selfFence.start();
      const subscriber = createRedis(config.redis, 'blocking', logger, `nudges-${self.id}`);
      await membership.listenForNudges(subscriber, self.id, onChange);
      return {
        close: async () => {
          subscriber.disconnect();
          await selfFence.close();
          await heartbeat.close();
        },
      };
    },
  };
}

/** 5100 → "5,1" (pt-BR). */
function seconds(ms: number): string {
  return (ms / 1000).toLocaleString('pt-BR', { maximumFractionDigits: 1 });
}
