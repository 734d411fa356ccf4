/**
 * The several-instances part of the service, wired once (CONTRACT.md "Several instances"): the
 * pool membership in Redis, the unit slots the worker pool starts under, the pool's stored caps,
 * the other instances as the scaler sees them, the dead bridges the bridge takes over, the
 * heartbeat and the self-fence.
 */
import os from 'node:os';
import type { Redis } from 'ioredis';
import type { OrphanBridges } from '../bridge/bridge.js';
import type { ListLease } from '../bridge/list-lease.js';
import { describeHolder, InstanceHeartbeat } from '../cluster/instance-heartbeat.js';
import { CapsInEffect, type CapsTaken, type PoolCaps } from '../cluster/pool-caps.js';
import { PoolMembership, type InstanceOwner, type Refusal } from '../cluster/pool-membership.js';
import { SelfFence, type FenceCause, type FenceState } from '../cluster/self-fence.js';
import type { AppConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import type { CapacityBound } from '../scaler/decide.js';
import type { ScalerCluster } from '../scaler/scaler-cluster.js';
import type { UnitSlots, WorkerPool } from '../pool/worker-pool.js';
import { SERVICE_VERSION } from './version.js';

/** A dead bridge's lists are taken over by one instance; another retries after this if it dies too. */
const ORPHAN_CLAIM_MS = 60_000;

/** A live instance of the pool as Redis last saw it, for this one's scaler and `/api/status`. */
export interface PeerInstance {
  readonly id: string;
  readonly host: string;
  readonly version: string;
  /** Most units it may run. */
  readonly capacity: number;
  /** Its units per queue: the slots it holds (see {@link ServiceCluster.instances}). */
  readonly units: Readonly<Record<string, number>>;
  /** Wall-clock time of its last beat (ms). */
  readonly beatAt: number;
}

export interface ServiceCluster {
  readonly slots: UnitSlots;
  readonly orphans: OrphanBridges;
  /** One bridge per source list at a time. */
  leaseFor(sourceList: string): ListLease;
  /** The instances as the scaler sees them: this one (from its own pool) and {@link instances}. */
  scaler(self: {
    readonly capacity: () => number;
    readonly units: () => Readonly<Record<string, number>>;
  }): ScalerCluster;
  /**
   * The live instances, each with its units per queue counted by the slots it holds: a slot is
   * granted in Redis the moment a unit starts and given back once it has closed (a draining unit
   * keeps it, as the caps count it), where a heartbeat's count is up to a beat old. The one source
   * of other instances' units: the scaler splits on it and `/api/status` shows it, so both see the
   * same pool.
   */
  instances(): Promise<PeerInstance[]>;
  /** Asks the other instances to evaluate now (errors logged at debug, never thrown). */
  nudgeOthers(): void;
  /**
   * The caps in effect: this instance's configuration until it joins the pool, then the pool's
   * stored ones (read them at every use: an operator may change them live).
   */
  readonly caps: () => PoolCaps;
  /** True while this instance has fenced itself; the self-fence owns the flag, everyone reads it. */
  readonly fenced: () => boolean;
  /** Self-fencing (undefined before the heartbeat starts): `/readyz` and `/metrics` show it. */
  readonly fence: () => FenceState | undefined;

  /**
   * Joins the pool (refused with a ConfigError when another process holds this instance id or
   * another pool is live on the prefix), takes the pool's stored caps and applies them through
   * `applyCaps` (BullMQ's global concurrency), then beats every `instance.heartbeatMs`. Each beat
   * reconciles this instance's slots with the pool's open units. `onChange` when instances come or
   * go; `onItems` when another instance nudges (it bridged new items): every instance then starts
   * its share at once. Fences this instance (closes its units, starts none) when its renewals stop
   * reaching Redis for longer than its slots' lease minus one beat, or when Redis refuses a beat,
   * and lifts the fence at the next renewal.
   */
  startHeartbeat(deps: {
    readonly pool: WorkerPool;
    readonly capacity: () => number;
    readonly logger: Logger;
    readonly onChange: () => void;
    readonly onItems: () => void;
    readonly applyCaps: (caps: PoolCaps) => Promise<void>;
    /** Aborts the join (a stop requested while a predecessor's record is waited out). */
    readonly signal?: AbortSignal;
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

/** The caps this instance's configuration asks for. */
export function ownCaps(config: AppConfig): PoolCaps {
  return {
    maxTotalWorkers: config.scaler.maxTotalWorkers,
    maxWorkers: Object.fromEntries(config.queues.map((q) => [q.name, q.maxWorkers])),
  };
}

export function clusterOf(config: AppConfig, redis: Redis): ServiceCluster {
  const self = config.instance;
  const ttlMs = self.heartbeatMs * 3;
  const owner: InstanceOwner = { id: self.id, host: os.hostname(), pid: process.pid, startedAt: Date.now() };
  const queueNames = config.queues.map((q) => q.name);
  const caps = new CapsInEffect(ownCaps(config), queueNames);
  let fence: SelfFence | undefined;
  const fenced = (): boolean => fence?.fenced ?? false;
  // Renewed every bridge loop: after a batch, or after an empty list's BLMOVE wait (blockSeconds).
  const leaseMs = Math.max(3 * self.heartbeatMs, config.bridge.blockSeconds * 1000 + 5000);
  const membership = new PoolMembership({ redis, prefix: config.redis.prefix, queues: queueNames, ttlMs });
  const instances = async (): Promise<PeerInstance[]> =>
    (await membership.snapshot()).instances.map((i) => ({
      id: i.id,
      host: i.host,
      version: i.version,
      capacity: i.capacity,
      units: i.slots,
      beatAt: i.beatAt,
    }));
  return {
    slots: {
      claim: (queueName) => membership.claimSlot(owner, queueName),
      release: (queueName, index) => membership.releaseSlot(owner, queueName, index),
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
    scaler: ({ capacity, units }) => ({ selfId: self.id, capacity, units, fenced, instances }),
    instances,
    nudgeOthers: () => void membership.nudgeOthers(self.id).catch(() => undefined),
    caps: () => caps.current,
    fenced,
    fence: () => fence?.state(),

    async startHeartbeat({ pool, capacity, logger, onChange, onItems, applyCaps, signal }) {
      let members = '';
      let lastRefusal = '';
      const capsLog = capsLogger(logger, membership.capsKey, config.redis.db);
      const concurrency = concurrencyFollower(applyCaps, logger);
      const selfFence = fenceOf(pool, logger, ttlMs, self.heartbeatMs);
      fence = selfFence;
      const heartbeat = new InstanceHeartbeat({
        membership,
        owner,
        bridgeId: config.bridge.id,
        version: SERVICE_VERSION,
        capacity,
        units: () => pool.liveByQueue(),
        slots: () => pool.slotsHeld(),
        caps: () => caps.current,
        intervalMs: self.heartbeatMs,
        logger,
        monotonic: () => selfFence.now(),
        onRenewed: (renewal, sentAtMonotonic) => {
          lastRefusal = '';
          const taken = caps.take(renewal.caps);
          capsLog(taken);
          if (!taken.first) concurrency.follow(caps.current);
          if (!taken.first && taken.differences.length > 0) onChange(); // decide again under the new caps
          if (renewal.released.length > 0) {
            const slots = renewal.released.map((r) => `${r.queue}|${r.n}`).join(', ');
            logger.info(`vaga(s) ${slots} devolvida(s) ao pool: nenhum worker aberto desta instância a usa`);
          }
          const cause = selfFence.cause;
          if (!selfFence.renewed(sentAtMonotonic)) return;
          logger.info(
            cause?.kind === 'refused'
              ? `[REINTEGRADA] o id ${self.id} voltou a ser desta instância: retomando`
              : '[REINTEGRADA] Redis voltou: retomando',
          );
          onChange();
        },
        onRefused: (refusal) => {
          const line = refusalLine(refusal, self.id);
          if (line !== lastRefusal) logger.error(line);
          lastRefusal = line;
          selfFence.fenceNow(refusal);
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
      await heartbeat.start(signal);
      try {
        await concurrency.apply(caps.current);
      } catch (err) {
        await heartbeat.close();
        throw err;
      }
      selfFence.start();
      const subscriber = createRedis(config.redis, 'blocking', logger, `nudges-${self.id}`);
      await membership.listenForNudges(subscriber, self.id, onItems);
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

/**
 * The self-fence of this instance: when it fences, the pool forces its units closed; `/readyz`
 * learns when the last one has closed.
 */
function fenceOf(pool: WorkerPool, logger: Logger, ttlMs: number, renewEveryMs: number): SelfFence {
  const fence: SelfFence = new SelfFence({
    ttlMs,
    renewEveryMs,
    onFence: (cause) => {
      const closing = pool.forceCloseAll();
      logger.warn(fenceLine(cause, closing, ttlMs));
      if (pool.openUnits() === 0) fence.unitsClosed();
    },
  });
  pool.on('unit-state', (_queue, _unit, to) => {
    if (to === 'closed' && fence.fenced && pool.openUnits() === 0) fence.unitsClosed();
  });
  return fence;
}

/**
 * BullMQ's global concurrency follows the caps in effect: `apply` at start (its failure fails the
 * start), `follow` at every beat (applies a change; a failure is logged and retried at the next).
 */
function concurrencyFollower(
  applyCaps: (caps: PoolCaps) => Promise<void>,
  logger: Logger,
): { apply(caps: PoolCaps): Promise<void>; follow(caps: PoolCaps): void } {
  let applied = '';
  let applying = false;
  const apply = async (caps: PoolCaps): Promise<void> => {
    await applyCaps(caps);
    applied = JSON.stringify(caps.maxWorkers);
  };
  return {
    apply,
    follow(caps) {
      if (applying || JSON.stringify(caps.maxWorkers) === applied) return;
      applying = true;
      apply(caps)
        .catch((err: unknown) => {
          logger.warn(`não foi possível aplicar a concorrência global das filas: ${coerceError(err).message}`);
        })
        .finally(() => (applying = false));
    },
  };
}

/** The lines about the caps in effect: how this instance's differ (at join), what changed later. */
function capsLogger(logger: Logger, capsKey: string, db: number): (taken: CapsTaken) => void {
  let lastInvalid = '';
  return ({ first, differences, invalid }) => {
    if (invalid.length > 0 && invalid.join() !== lastInvalid) {
      logger.warn(`limites do pool inválidos em ${capsKey} (${invalid.join(', ')}: inteiro ≥ 0): mantendo os atuais`);
    }
    lastInvalid = invalid.join();
    if (differences.length === 0) return;
    if (first) {
      const both = differences.map((d) => `${d.field} ${d.own} aqui, ${d.stored} no pool`).join('; ');
      logger.warn(
        `os limites desta instância diferem dos gravados no pool (${capsKey}); valem os do pool: ${both}. ` +
          `Para mudá-los com o pool ativo: redis-cli -n ${db} HSET ${capsKey} <campo> <valor>; ` +
          'ou pare todas as instâncias (os limites saem com a última)',
      );
    } else {
      const changes = differences.map((d) => `${d.field} ${d.own} → ${d.stored}`).join(', ');
      logger.info(`limites do pool alterados em ${capsKey}: ${changes}`);
    }
  };
}

/** The `[ISOLADA]` line. */
function fenceLine(cause: FenceCause, closing: number, ttlMs: number): string {
  const why =
    cause.kind === 'silent'
      ? `sem Redis há ${seconds(cause.silentMs)} s (lease de ${seconds(ttlMs)} s)`
      : 'o Redis recusou o heartbeat';
  return `[ISOLADA] ${why}: encerrando ${closing} worker(s) para não exceder os limites`;
}

/** Why Redis refused a beat, for operators. */
function refusalLine(refusal: Refusal, id: string): string {
  if (refusal.kind === 'duplicate') {
    return (
      `INSTANCE_ID '${id}' tomado por outro processo (${describeHolder(refusal.holder)}): esta instância ` +
      'não renova nem devolve as vagas dele e fica isolada enquanto o outro viver; dê a cada instância um INSTANCE_ID próprio'
    );
  }
  return (
    `outro pool (filas [${refusal.pool.split('+').join(', ')}]) ocupou este Redis enquanto este estava expirado: ` +
    'esta instância fica isolada; reinicie-a com as mesmas filas do outro pool, ou com outro redis.prefix'
  );
}

/** 5100 → "5,1" (pt-BR). */
function seconds(ms: number): string {
  return (ms / 1000).toLocaleString('pt-BR', { maximumFractionDigits: 1 });
}
