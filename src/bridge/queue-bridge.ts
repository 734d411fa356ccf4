/** The loop that bridges one source list into one BullMQ queue. {@link Bridge} runs one per queue. */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { sleep } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import type { CompletedJobIds } from '../workers/completed-ids.js';
import {
  classifyItem,
  safeInvalidEntry,
  type ClassifiedItem,
  type InvalidReason,
  type OversizedFacts,
} from './item.js';
import { abortable } from './abortable.js';
import { boundedFragment } from './fragment.js';
import { addIsolating, existingJobIds, type Candidate, type JobTarget } from './job-adds.js';
import { LosslessListMoves, oversizedStoreOf, type ProcessingEntry } from './lossless-list-moves.js';
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
  /** Oldest invalid-list entries dropped to keep the list within its bounds. */
  invalidDropped: number;
  /** Oversized items whose bytes were dropped because the side store was full (their entry stays). */
  oversizedDropped: number;
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
  /** `count` of the oldest invalid-list entries were dropped (the list was at its bound). */
  onInvalidDropped?: (queue: string, count: number) => void;
  /** An oversized item's bytes were dropped (the side store was full); its invalid entry stays. */
  onOversizedDropped?: (queue: string) => void;
}

/** One item of a batch on its way to the invalid list. */
interface InvalidItem {
  /** Position in the batch (the invalid list keeps batch order). */
  readonly index: number;
  readonly raw: Buffer;
  readonly reason: InvalidReason;
  /** Bounded, one line (fragment.ts). */
  readonly detail: string;
  readonly oversized?: OversizedFacts;
}

export interface QueueBridgeOptions {
  readonly queue: QueueConfig;
  readonly bullQueue: Queue;
  /** Key prefix of `bullQueue` (for job-hash existence checks and its id counter). */
  readonly prefix: string;
  readonly command: Redis;
  /** Ids of completed jobs kept past their whole job (duplicate window); absent: job hashes only. */
  readonly completedIds?: CompletedJobIds;
  readonly processingList: string;
  readonly batchSize: number;
  /** Larger items are set aside inside Redis (lossless-list-moves.ts). */
  readonly maxItemBytes: number;
  /** Most bytes one batch brings into Node (at least one item). */
  readonly maxBatchBytes: number;
  /** Bounds of the side store of oversized items (`<invalidList>:oversized`). */
  readonly oversizedMaxItems: number;
  readonly oversizedMaxBytes: number;
  /** Bounds of the invalid list: past either, its oldest entries are dropped. */
  readonly invalidMaxItems: number;
  readonly invalidMaxBytes: number;
  /** 0 = no limit. */
  readonly maxWaiting: number;
  /** An idle loop (empty source list) goes round at most this often (lease renewal, back-pressure). */
  readonly blockSeconds: number;
  /** How often an empty source list is checked for items. @defaultValue 100 */
  readonly idlePollMs?: number;
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
  /** Side store of this queue's oversized items. */
  readonly #side: string;
  #lastError = '';
  readonly #clock: () => number;

  constructor(options: QueueBridgeOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#moves = new LosslessListMoves(options.command, options);
    this.#counterKey = `${options.prefix}:${options.queue.name}:id`;
    this.#side = oversizedStoreOf(options.queue.invalidList);
    this.#stuckWatch = new StuckWatch({ ...options, clock: this.#clock });
    this.#target = {
      bullQueue: options.bullQueue,
      queue: options.queue.name,
      flow: options.queue.flow,
      jobOptions: options.jobOptions,
      prefix: options.prefix,
      command: options.command,
      ...(options.completedIds ? { completedIds: options.completedIds } : {}),
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
          this.#moves.take(this.#o.queue.sourceList, this.#o.processingList, this.#counterKey, this.#side, room),
          giveUp,
        );
        if (moved > 0) {
          // Finished even when close() came meanwhile: this is the in-flight batch.
          await abortable(this.#bridgeBatch(false, moved), giveUp);
          this.#stuckWatch.moving();
          continue;
        }
        this.#stuckWatch.moving();
        if (signal.aborted) break;
        // Polled, not BLMOVE: a blocking pop returns the item, and an oversized one would reach Node.
        await this.#waitForItems();
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
          logger.warn(
            `passo da ponte falhou, nova tentativa em ${this.#o.retryDelayMs} ms: ${boundedFragment(err.message)}`,
          );
        } else {
          logger.debug(`passo da ponte falhou de novo: ${boundedFragment(err.message)}`);
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

  /**
   * Returns once the source list has items, `blockSeconds` pass or the loop is closed. LLEN every
   * `idlePollMs`: it answers a number whatever the items hold.
   */
  async #waitForItems(): Promise<void> {
    const { command, signal, queue } = this.#o;
    const until = this.#clock() + this.#o.blockSeconds * 1000;
    const pollMs = this.#o.idlePollMs ?? 100;
    while (!signal.aborted) {
      if ((await abortable(command.llen(queue.sourceList), signal)) > 0) return;
      const left = until - this.#clock();
      if (left <= 0 || left > this.#o.blockSeconds * 1000) return;
      await sleep(Math.min(pollMs, left), signal);
    }
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
   * jobs are not duplicates. `taken`: the batch the take script just moved (the processing list
   * holds nothing else). Returns the number of entries settled. Every step on one item is
   * wrapped: an item that makes a step throw becomes an invalid entry, never a stuck batch.
   */
  async #bridgeBatch(inDoubt: boolean, taken?: number): Promise<number> {
    const { queue, stats, events } = this.#o;
    const entries = await this.#moves.peek(this.#o.processingList, this.#side, this.#o.batchSize, taken);
    if (entries.length === 0) return 0;

    const now = new Date();
    const invalid: InvalidItem[] = [];
    const duplicates: (string | number)[] = [];
    const candidates: Candidate[] = [];
    const inBatch = new Set<string>();
    entries.forEach((entry, index) => {
      try {
        if (entry.oversized) {
          invalid.push(this.#oversizedItem(entry, index));
          return;
        }
        const item = this.#classify(entry);
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
      } catch (err) {
        invalid.push({ index, raw: entry.raw, reason: 'bridge-error', detail: stepFailed('classification', err) });
      }
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
        invalid.push({
          index: candidate.index,
          raw: candidate.raw,
          reason: 'rejected',
          detail: boundedFragment(error.message),
        });
      }
      const added = toAdd.length - rejected.length;
      if (added > 0) await this.#o.replicaWait?.confirm(this.#o.command, `um lote de ${added} job(s) da ponte`);
      if (added > 0) {
        stats.moved += added;
        this.#notify(() => events.onMoved?.(queue.name, added));
      }
    }
    invalid.sort((a, b) => a.index - b.index);
    const texts = invalid.map((item) => this.#entryOf(item, now));
    const dropped = await this.#moves.settle(
      this.#o.processingList,
      entries,
      queue.invalidList,
      this.#side,
      { maxItems: this.#o.invalidMaxItems, maxBytes: this.#o.invalidMaxBytes },
      texts,
    );

    stats.invalid += invalid.length;
    stats.duplicates += duplicates.length;
    stats.replayed += replayed;
    for (const item of invalid) this.#notify(() => events.onInvalid?.(queue.name, item.reason));
    for (const id of duplicates) this.#reportDuplicate(id);
    if (dropped.length > 0) this.#reportDropped(dropped);
    if (replayed > 0) this.#o.logger.info(`${replayed} item(s) de um lote repetido já eram jobs`);
    return entries.length;
  }

  /** The verdict on one entry written by a bridge, or by hand (no sequence number). */
  #classify(entry: ProcessingEntry): ClassifiedItem {
    if (entry.seq === undefined) {
      return { valid: false, reason: 'foreign-entry', detail: 'processing entry without sequence number' };
    }
    return classifyItem(entry.raw, entry.seq, this.#o.maxItemBytes, this.#o.queue.name);
  }

  /** The invalid item of an oversized item's marker; logs where its bytes went. */
  #oversizedItem(entry: ProcessingEntry, index: number): InvalidItem {
    const { bytes, sha1, field } = entry.oversized as NonNullable<ProcessingEntry['oversized']>;
    const { logger, queue, stats, events } = this.#o;
    const what = `item grande demais (${bytes} bytes > ${this.#o.maxItemBytes}, sha1 ${sha1.slice(0, 12)})`;
    try {
      if (field !== undefined) {
        logger.warn(`${what} posto de lado: bytes em ${this.#side} campo ${field}, entrada em ${queue.invalidList}`);
      } else {
        logger.warn(
          `${what} descartado: ${this.#side} cheio (bridge.oversizedMaxItems ${this.#o.oversizedMaxItems}, ` +
            `bridge.oversizedMaxBytes ${this.#o.oversizedMaxBytes}); só o início, o tamanho e o hash ficam em ${queue.invalidList}`,
        );
      }
    } catch (err) {
      this.#logFailed(err);
    }
    if (field === undefined) {
      stats.oversizedDropped++;
      this.#notify(() => events.onOversizedDropped?.(queue.name));
    }
    return {
      index,
      raw: entry.raw,
      reason: 'too-large',
      detail:
        `${bytes} bytes > maxItemBytes ${this.#o.maxItemBytes}; ` +
        (field !== undefined
          ? `whole item in ${this.#side} field ${field}`
          : `its bytes were dropped (${this.#side} full)`),
      oversized: { bytes, sha1, ...(field !== undefined ? { storedIn: { key: this.#side, field } } : {}) },
    };
  }

  /** One item's invalid-list entry and its log line; never throws. */
  #entryOf(item: InvalidItem, now: Date): string {
    const { logger, queue } = this.#o;
    const { entry, lost } = safeInvalidEntry(item.raw, item.reason, item.detail, queue.name, now, item.oversized);
    try {
      if (lost) {
        logger.error(
          `item inválido (${item.reason}) grande demais para a entrada: só o início, o tamanho e o hash ficam em ${queue.invalidList}`,
          { bytes: item.raw.length },
        );
      }
      logger.warn(`item inválido (${item.reason}: ${item.detail}) movido para ${queue.invalidList}`, {
        bytes: item.oversized?.bytes ?? item.raw.length,
      });
    } catch (err) {
      this.#logFailed(err);
    }
    return entry;
  }

  #reportDuplicate(id: string | number): void {
    const { logger, queue, events } = this.#o;
    try {
      const shown = boundedFragment(typeof id === 'string' ? JSON.stringify(id) : String(id));
      logger.warn(`id duplicado ${shown}: um job com este id ainda está guardado; não roda de novo`);
    } catch (err) {
      this.#logFailed(err);
    }
    this.#notify(() => events.onDuplicate?.(queue.name, id));
  }

  /** The oldest invalid entries were dropped to keep the list within its bounds: say so, count it. */
  #reportDropped(reasons: readonly string[]): void {
    const { logger, queue, stats, events } = this.#o;
    const byReason = new Map<string, number>();
    for (const reason of reasons) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
    const summary = [...byReason].map(([reason, n]) => `${boundedFragment(reason, 40)}: ${n}`).join(', ');
    logger.warn(
      `${queue.invalidList} no limite (bridge.invalidMaxItems ${this.#o.invalidMaxItems}, bridge.invalidMaxBytes ` +
        `${this.#o.invalidMaxBytes}): ${reasons.length} entrada(s) mais antiga(s) apagada(s) (${summary})`,
    );
    stats.invalidDropped += reasons.length;
    this.#notify(() => events.onInvalidDropped?.(queue.name, reasons.length));
  }

  #logFailed(err: unknown): void {
    try {
      this.#o.logger.error(`linha de log da ponte não montada: ${boundedFragment(coerceError(err).message)}`);
    } catch {
      // nothing left to tell
    }
  }

  #notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#o.logger.error(`callback da ponte falhou: ${boundedFragment(coerceError(err).message)}`);
    }
  }
}

/** The detail of an item whose step threw: the step and the error, bounded. */
function stepFailed(step: string, err: unknown): string {
  let message: string;
  try {
    message = coerceError(err).message;
  } catch {
    message = 'unreadable error';
  }
  return boundedFragment(`${step} threw: ${message}`);
}
