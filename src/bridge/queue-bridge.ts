/** The loop that bridges one source list into one BullMQ queue. {@link Bridge} runs one per queue. */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { sleep } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import { classifyItem, invalidEntry, type InvalidReason } from './item.js';
import { abortable } from './abortable.js';
import { addIsolating, existingJobIds, type Candidate, type JobTarget } from './job-adds.js';
import { LosslessListMoves } from './lossless-list-moves.js';
import { holdOrWait, releaseQuietly, type ListLease } from './list-lease.js';
import { StuckWatch } from './stuck-watch.js';

/** Counters of one queue's bridge, read by the metrics module through `Bridge#stats()`. */
export interface QueueBridgeStats {
  /** Items that became new BullMQ jobs. */
  moved: number;
  /** Items sent to the invalid list. */
  invalid: number;
  /** Items whose payload `id` matched a retained job (or an earlier item of the same batch): not added. */
  duplicates: number;
  /** Items found already bridged when a batch was replayed after a crash or a Redis error. */
  replayed: number;
  /** True while the bridge holds items back because the queue has too many waiting jobs. */
  holding: boolean;
  /**
   * Since when (ms since epoch) the batch in hand keeps failing while Redis answers: the queue
   * is stuck for a reason that is not its items (those go to the invalid list) nor an outage.
   * Undefined while the bridge moves.
   */
  stuckSince: number | undefined;
  /** The last error of a stuck bridge, for people ('' when not stuck). */
  stuckReason: string;
}

/** What a queue loop reports to its owner. Callbacks must not throw (errors are logged). */
export interface QueueBridgeEvents {
  onMoved?: (queue: string, count: number) => void;
  onInvalid?: (queue: string, reason: InvalidReason) => void;
  onDuplicate?: (queue: string, id: string | number) => void;
}

export interface QueueBridgeOptions {
  readonly queue: QueueConfig;
  readonly bullQueue: Queue;
  /** Key prefix of `bullQueue` (for job-hash existence checks and its id counter). */
  readonly prefix: string;
  readonly command: Redis;
  /** This loop's own connection for BLMOVE (`maxRetriesPerRequest: null`). */
  readonly blocking: Redis;
  readonly processingList: string;
  readonly batchSize: number;
  readonly maxItemBytes: number;
  /** 0 = no limit. */
  readonly maxWaiting: number;
  readonly blockSeconds: number;
  readonly backPressureCheckMs: number;
  readonly retryDelayMs: number;
  readonly jobOptions: JobsOptions;
  readonly logger: Logger;
  readonly events: QueueBridgeEvents;
  readonly stats: QueueBridgeStats;
  /** Aborted by `Bridge#close()`: stop taking items; the batch in hand is still finished. */
  readonly signal: AbortSignal;
  /**
   * Aborted when closing while Redis is unreachable: abandon the batch in hand (it stays in the
   * processing list, as after a crash, and the next start finishes it).
   */
  readonly giveUp: AbortSignal;
  readonly lease?: ListLease; // several instances: only the holder takes from the list
  /**
   * The batch's new jobs wait for Redis replicas before the items leave the processing list: a
   * failover must not keep the trim and lose the jobs (redis/replica-wait.ts).
   */
  readonly replicaWait?: ReplicaWait;

  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
  /** A stuck bridge logs an error at most this often. @defaultValue 60000 */
  readonly stuckLogEveryMs?: number;
}

export class QueueBridge {
  readonly #o: QueueBridgeOptions;
  readonly #moves: LosslessListMoves;
  readonly #target: JobTarget;
  readonly #stuckWatch: StuckWatch;
  readonly #counterKey: string;
  #lastError = '';
  readonly #clock: () => number;

  constructor(options: QueueBridgeOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#moves = new LosslessListMoves(options.command);
    this.#counterKey = `${options.prefix}:${options.queue.name}:id`;
    this.#stuckWatch = new StuckWatch({ ...options, clock: this.#clock });
    this.#target = {
      bullQueue: options.bullQueue,
      queue: options.queue.name,
      flow: options.queue.flow,
      jobOptions: options.jobOptions,
      prefix: options.prefix,
      command: options.command,
      logger: options.logger,
      redisDown: () => this.#redisDown(),
    };
  }

  /** Runs until the signal aborts; never rejects. */
  async run(): Promise<void> {
    const { signal, giveUp, logger } = this.#o;
    // The processing list may hold a batch a previous run (or a failed attempt) already bridged.
    let inDoubt = true;
    while (!signal.aborted) {
      try {
        if (inDoubt) {
          await abortable(this.finishLeftovers(), giveUp);
          inDoubt = false;
          if (signal.aborted) break;
        }
        if (this.#o.lease && !(await holdOrWait(this.#o.lease, signal))) continue;
        const room = await abortable(this.#room(), signal);
        if (room === 0) {
          await sleep(this.#o.backPressureCheckMs, signal);
          continue;
        }
        const moved = await abortable(
          this.#moves.take(this.#o.queue.sourceList, this.#o.processingList, this.#counterKey, room),
          giveUp,
        );
        if (moved > 0) {
          // Finished even when close() came meanwhile: this is the in-flight batch.
          await abortable(this.#bridgeBatch(false), giveUp);
          this.#stuckWatch.moving();
          continue;
        }
        this.#stuckWatch.moving();
        if (signal.aborted) break;
        await abortable(
          LosslessListMoves.waitForItems(this.#o.blocking, this.#o.queue.sourceList, this.#o.blockSeconds),
          signal,
        );
      } catch (thrown) {
        inDoubt = true;
        if (signal.aborted) break;
        const err = coerceError(thrown);
        if (!(await this.#redisDown())) {
          this.#stuckWatch.stuck(err);
          await sleep(this.#o.retryDelayMs, signal);
          continue;
        }
        if (err.message !== this.#lastError) {
          logger.warn(`passo da ponte falhou, nova tentativa em ${this.#o.retryDelayMs} ms: ${err.message}`);
        } else {
          logger.debug(`passo da ponte falhou de novo: ${err.message}`);
        }
        this.#lastError = err.message;
        await sleep(this.#o.retryDelayMs, signal);
      }
    }
    await releaseQuietly(this.#o.lease);
  }

  /** Bridges what is left in the processing list as a replay (also a dead bridge's, taken over). */
  async finishLeftovers(): Promise<number> {
    let total = 0;
    for (;;) {
      const count = await this.#bridgeBatch(true);
      total += count;
      if (count === 0 || this.#o.signal.aborted) break;
    }
    if (total > 0) this.#o.logger.info(`concluído(s) ${total} item(s) deixado(s) em ${this.#o.processingList}`);
    this.#lastError = '';
    this.#stuckWatch.moving();
    return total;
  }

  /** True when Redis does not answer now (an outage: retried quietly, not "stuck"). */
  async #redisDown(): Promise<boolean> {
    const { command } = this.#o;
    if (command.status !== 'ready') return true;
    try {
      return (await withTimeout(command.ping(), 2000, 'Redis PING')) !== 'PONG';
    } catch {
      return true;
    }
  }

  /** How many items may be taken now (0: hold them in the list, back-pressure). */
  async #room(): Promise<number> {
    const { maxWaiting, batchSize, stats, logger } = this.#o;
    if (maxWaiting === 0) return batchSize;
    // Bridged jobs always carry a priority, so they wait in the prioritized set.
    const waiting = await this.#o.bullQueue.getJobCountByTypes('waiting', 'prioritized');
    const room = Math.max(0, Math.min(batchSize, maxWaiting - waiting));
    if (room === 0 && !stats.holding) {
      logger.warn(`${waiting} jobs em espera (limite ${maxWaiting}): segurando itens em ${this.#o.queue.sourceList}`);
    } else if (room > 0 && stats.holding) {
      logger.info(`${waiting} jobs em espera (limite ${maxWaiting}): movendo itens de novo`);
    }
    stats.holding = room === 0;
    return room;
  }

  /**
   * Bridges the first batch of the processing list: jobs added, invalid items recorded, then the
   * batch trimmed off. `inDoubt`: the batch may have been bridged before (replay), so existing
   * jobs are not duplicates. Returns the number of entries settled.
   */
  async #bridgeBatch(inDoubt: boolean): Promise<number> {
    const { queue, logger, stats, events } = this.#o;
    const entries = await this.#moves.peek(this.#o.processingList, this.#o.batchSize);
    if (entries.length === 0) return 0;

    const now = new Date();
    const invalid: { index: number; raw: Buffer; reason: InvalidReason; detail: string }[] = [];
    const duplicates: (string | number)[] = [];
    const candidates: Candidate[] = [];
    const inBatch = new Set<string>();
    entries.forEach((entry, index) => {
      const item =
        entry.seq === undefined
          ? ({ valid: false, reason: 'foreign-entry', detail: 'processing entry without sequence number' } as const)
          : classifyItem(entry.raw, entry.seq, this.#o.maxItemBytes, queue.name);
      if (!item.valid) {
        invalid.push({ index, raw: entry.raw, reason: item.reason, detail: item.detail });
        return;
      }
      if (inBatch.has(item.jobId)) {
        duplicates.push(item.payload.id as string | number);
        return;
      }
      inBatch.add(item.jobId);
      candidates.push({
        index,
        raw: entry.raw,
        jobId: item.jobId,
        payload: item.payload,
        fromPayload: item.fromPayload,
        schedule: item.schedule,
      });
    });

    // Generated ids are new unless this batch is a replay; payload ids may name a retained job.
    const toCheck = candidates.filter((c) => inDoubt || c.fromPayload);
    const existing = await existingJobIds(
      this.#target,
      toCheck.map((c) => c.jobId),
    );
    const toAdd: Candidate[] = [];
    let replayed = 0;
    for (const candidate of candidates) {
      if (!existing.has(candidate.jobId)) toAdd.push(candidate);
      else if (inDoubt) replayed++;
      else duplicates.push(candidate.payload.id as string | number);
    }

    if (toAdd.length > 0) {
      const rejected = await addIsolating(this.#target, toAdd);
      for (const { candidate, error } of rejected) {
        invalid.push({ index: candidate.index, raw: candidate.raw, reason: 'rejected', detail: error.message });
      }
      const added = toAdd.length - rejected.length;
      if (added > 0) await this.#o.replicaWait?.confirm(this.#o.command, `um lote de ${added} job(s) da ponte`);
      if (added > 0) {
        stats.moved += added;
        this.#notify(() => events.onMoved?.(queue.name, added));
      }
    }
    invalid.sort((a, b) => a.index - b.index);
    for (const item of invalid) {
      logger.warn(`item inválido (${item.reason}: ${item.detail}) movido para ${queue.invalidList}`, {
        bytes: item.raw.length,
      });
    }
    await this.#moves.settle(
      this.#o.processingList,
      entries,
      queue.invalidList,
      invalid.map((item) => invalidEntry(item.raw, item.reason, item.detail, queue.name, now)),
    );

    stats.invalid += invalid.length;
    stats.duplicates += duplicates.length;
    stats.replayed += replayed;
    for (const item of invalid) this.#notify(() => events.onInvalid?.(queue.name, item.reason));
    for (const id of duplicates) {
      logger.warn(`id duplicado ${JSON.stringify(id)}: um job com este id ainda está guardado; não roda de novo`);
      this.#notify(() => events.onDuplicate?.(queue.name, id));
    }
    if (replayed > 0) logger.info(`${replayed} item(s) de um lote repetido já eram jobs`);
    return entries.length;
  }

  #notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#o.logger.error(`callback da ponte falhou: ${coerceError(err).message}`);
    }
  }
}
