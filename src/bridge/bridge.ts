/**
 * The bridge: moves items the legacy poller RPUSHes into `fila:<queue>` into the BullMQ queue of
 * the same name, one loop per queue, losing nothing whenever the process dies (see
 * lossless-list-moves.ts for how).
 *
 * Bridge id: each instance owns one processing list per queue, `<sourceList>:processing:<bridgeId>`,
 * and on start finishes what a previous run with the same id left there. It must differ between
 * processes running at the same time: two bridges with one id would share a processing list (the
 * settle step then fails over and over). The default is unique per process (`instance.id`, host
 * name and pid). What a process leaves in its lists when it dies is not lost: in the service, a
 * live instance of the pool takes over the lists of a bridge whose instance is dead (`orphans`),
 * a restarted process included. Set `BRIDGE_ID` to one stable across restarts (e.g. a StatefulSet
 * pod name) when a bridge runs outside the pool (the bridge CLI), or to finish a dead bridge's
 * lists at once on restart; a list left by a standalone bridge is recovered by starting a bridge
 * once with its id.
 */
import os from 'node:os';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig, QueueConfig, RedisConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { sleep } from '../lib/sleep.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import type { InvalidReason } from './item.js';
import { CompletedJobIds } from '../workers/completed-ids.js';
import { jobOptionsFor } from '../workers/job-options.js';
import { abortable } from './abortable.js';
import type { ListLease } from './list-lease.js';
import { processingListOf } from './lossless-list-moves.js';
import { QueueBridge, type QueueBridgeOptions, type QueueBridgeStats } from './queue-bridge.js';

export type { InvalidReason } from './item.js';
export type { QueueBridgeStats } from './queue-bridge.js';

/** Counters per queue name, a snapshot. */
export type BridgeStats = Readonly<Record<string, Readonly<QueueBridgeStats>>>;

export interface BridgeOptions {
  queues: readonly QueueConfig[];
  redis: RedisConfig;
  bridge: AppConfig['bridge'];
  jobs: AppConfig['jobs'];
  logger: Logger;
  /** Owner of the processing lists, unique among running bridges. @defaultValue `<host name>-<pid>` */
  bridgeId?: string;
  /** Called after items of `queue` became `count` new jobs (the scaler's early evaluation). */
  onMoved?: (queue: string, count: number) => void;
  /** Called for each item sent to the invalid list. */
  onInvalid?: (queue: string, reason: InvalidReason) => void;
  /** Called for each item not added because its payload `id` names a job still kept. */
  onDuplicate?: (queue: string, id: string | number) => void;
  /** Called when the oldest `count` entries of an invalid list were dropped (its bound). */
  onInvalidDropped?: (queue: string, count: number) => void;
  /** Called when an oversized item's bytes were dropped (its side store was full). */
  onOversizedDropped?: (queue: string) => void;
  /** How often a bridge holding items back (maxWaiting) checks the waiting count. @defaultValue 1000 */
  backPressureCheckMs?: number;
  /** Pause before retrying after a Redis error. @defaultValue 1000 */
  retryDelayMs?: number;
  /** ms since epoch, for how long a queue has been stuck. @defaultValue Date.now */
  clock?: () => number;
  /** Several instances: dead bridges whose processing lists this one takes over. */
  orphans?: OrphanBridges;
  /** How often dead bridges are looked for. @defaultValue 5000 */
  orphanCheckMs?: number;
  /** Several instances: one bridge per source list at a time (its lease). */
  leases?: (sourceList: string) => ListLease;
  /** A batch's jobs wait for Redis replicas (WAIT) before its items leave the processing list. */
  replicaWait?: ReplicaWait;
}

/** The dead bridges of the pool (the service injects the instance registry). */
export interface OrphanBridges {
  /** Bridge ids whose instance is dead. */
  list(): Promise<string[]>;
  /** True when this instance may take over `bridgeId`'s lists now (one at a time). */
  claim(bridgeId: string): Promise<boolean>;
  /** Its lists are empty: forget it. */
  forget(bridgeId: string): Promise<void>;
}

/** A queue whose bridge is stuck: its batch keeps failing while Redis answers. */
export interface StuckBridge {
  readonly queue: string;
  readonly seconds: number;
  readonly reason: string;
}

export class Bridge {
  readonly #options: BridgeOptions;
  readonly #logger: Logger;
  readonly #bridgeId: string;
  readonly #abort = new AbortController();
  readonly #giveUp = new AbortController();
  readonly #stats = new Map<string, QueueBridgeStats>();
  #command: Redis | undefined;
  readonly #queues: Queue[] = [];
  #loops: Promise<void>[] = [];
  /** Per queue: finishes a given processing list (a dead bridge's) and stops. */
  readonly #finishers: { sourceList: string; finish(processingList: string): Promise<number> }[] = [];
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: BridgeOptions) {
    this.#options = options;
    this.#bridgeId = options.bridgeId ?? `${os.hostname()}-${process.pid}`;
    this.#logger = options.logger.child({ component: 'bridge' });
    const { invalidMaxBytes, maxItemBytes } = options.bridge;
    if (invalidMaxBytes < 6 * maxItemBytes) {
      // An entry holds the item as JSON: up to 6 characters a byte (control characters).
      this.#logger.warn(
        `bridge.invalidMaxBytes (${invalidMaxBytes}) < 6 × bridge.maxItemBytes (${maxItemBytes}): a grande ` +
          'item inválido pode não caber na lista de inválidos e ser apagado logo ao entrar',
      );
    }
    for (const queue of options.queues) {
      this.#stats.set(queue.name, emptyBridgeStats());
    }
  }

  get bridgeId(): string {
    return this.#bridgeId;
  }

  /** Starts one loop per queue; resolves once they run (Redis may still be unreachable). */
  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  /**
   * Stops taking items (ends an idle loop's wait), lets each loop finish the batch in hand,
   * closes connections. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  /** A snapshot of the counters per queue. */
  stats(): BridgeStats {
    const snapshot: Record<string, QueueBridgeStats> = {};
    for (const [name, stats] of this.#stats) snapshot[name] = { ...stats };
    return snapshot;
  }

  /** The queues whose bridge is stuck now (see {@link QueueBridgeStats.stuckSince}). */
  stuck(now = (this.#options.clock ?? Date.now)()): StuckBridge[] {
    const stuck: StuckBridge[] = [];
    for (const [queue, stats] of this.#stats) {
      if (stats.stuckSince === undefined) continue;
      stuck.push({
        queue,
        seconds: Math.max(0, Math.floor((now - stats.stuckSince) / 1000)),
        reason: stats.stuckReason,
      });
    }
    return stuck;
  }

  async #doStart(): Promise<void> {
    await Promise.resolve();
    if (this.#closing) return;
    const { redis, bridge, jobs, queues } = this.#options;
    const command = createRedis(redis, 'command', this.#logger, `bridge-${this.#bridgeId}`);
    this.#command = command;
    for (const queue of queues) {
      const logger = this.#logger.child({ queue: queue.name });
      const bullQueue = new Queue(queue.name, { connection: command, prefix: redis.prefix });
      bullQueue.on('error', (err) => logger.debug(`erro da fila BullMQ: ${err.message}`));
      this.#queues.push(bullQueue);
      const loopOptions = (): QueueBridgeOptions => ({
        queue,
        bullQueue,
        prefix: redis.prefix,
        command,
        processingList: processingListOf(queue.sourceList, this.#bridgeId),
        batchSize: bridge.batchSize,
        maxItemBytes: bridge.maxItemBytes,
        maxBatchBytes: bridge.maxBatchBytes,
        oversizedMaxItems: bridge.oversizedMaxItems,
        oversizedMaxBytes: bridge.oversizedMaxBytes,
        invalidMaxItems: bridge.invalidMaxItems,
        invalidMaxBytes: bridge.invalidMaxBytes,
        maxWaiting: bridge.maxWaiting,
        blockSeconds: bridge.blockSeconds,
        backPressureCheckMs: this.#options.backPressureCheckMs ?? 1000,
        retryDelayMs: this.#options.retryDelayMs ?? 1000,
        ...(this.#options.clock ? { clock: this.#options.clock } : {}),
        jobOptions: jobOptionsFor(queue, jobs),
        completedIds: new CompletedJobIds(command, { prefix: redis.prefix, queue: queue.name, retention: jobs }),
        logger,
        events: this.#options,
        stats: this.#stats.get(queue.name) as QueueBridgeStats,
        signal: this.#abort.signal,
        giveUp: this.#giveUp.signal,
        ...(this.#options.leases ? { lease: this.#options.leases(queue.sourceList) } : {}),
        ...(this.#options.replicaWait ? { replicaWait: this.#options.replicaWait } : {}),
      });
      const loop = new QueueBridge(loopOptions());
      this.#loops.push(loop.run());
      this.#finishers.push({
        sourceList: queue.sourceList,
        finish: (processingList) =>
          abortable(new QueueBridge({ ...loopOptions(), processingList }).finishLeftovers(), this.#giveUp.signal),
      });
    }
    if (this.#options.orphans) this.#loops.push(this.#adoptOrphans(this.#options.orphans));
    this.#logger.info(
      `ponte: ${queues.map((q) => `${q.sourceList} → ${q.name}`).join(', ')} (id da ponte ${this.#bridgeId})`,
    );
  }

  /**
   * Takes over the processing lists of dead bridges of the pool, one instance per dead bridge: its
   * batch is bridged as a replay (same job ids, so nothing runs twice and nothing is lost).
   */
  async #adoptOrphans(orphans: OrphanBridges): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        for (const bridgeId of await orphans.list()) {
          if (bridgeId === this.#bridgeId || signal.aborted || !(await orphans.claim(bridgeId))) continue;
          let total = 0;
          for (const f of this.#finishers) total += await f.finish(processingListOf(f.sourceList, bridgeId));
          if (total > 0) this.#logger.info(`ponte ${bridgeId} (instância morta): ${total} item(s) retomado(s)`);
          await orphans.forget(bridgeId);
        }
      } catch (err) {
        this.#logger.debug(`não foi possível retomar pontes mortas: ${coerceError(err).message}`);
      }
      await sleep(this.#options.orphanCheckMs ?? 5000, signal);
    }
  }

  async #doClose(): Promise<void> {
    this.#abort.abort();
    try {
      await this.#starting;
    } catch (err) {
      this.#logger.warn(`o início da ponte tinha falhado: ${coerceError(err).message}`);
    }
    // With Redis down nothing in flight can finish: abandon it rather than wait for retries. The
    // batch stays in the processing list, as after a crash.
    const command = this.#command;
    if (command) {
      const giveUp = (): void => this.#giveUp.abort();
      if (command.status !== 'ready') giveUp();
      else command.once('close', giveUp);
    }
    await Promise.all(this.#loops);
    this.#loops = [];
    for (const queue of this.#queues.reverse()) {
      try {
        await queue.close();
      } catch (err) {
        this.#logger.warn(`falha ao fechar a fila ${queue.name}: ${coerceError(err).message}`);
      }
    }
    try {
      // QUIT waits for Redis; during an outage just drop the connection.
      if (this.#command?.status === 'ready') await this.#command.quit();
      else this.#command?.disconnect();
    } catch {
      this.#command?.disconnect();
    }
    this.#logger.info('ponte fechada');
  }
}

/** A queue bridge's counters before it moved anything. */
export function emptyBridgeStats(): QueueBridgeStats {
  return {
    moved: 0,
    invalid: 0,
    duplicates: 0,
    replayed: 0,
    invalidDropped: 0,
    oversizedDropped: 0,
    holding: false,
    stuckSince: undefined,
    stuckReason: '',
  };
}
