/**
 * The loop that bridges one source list into one BullMQ queue. {@link Bridge} runs one per queue.
 */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { sleep } from '../lib/sleep.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { scheduleJobOptions, type Schedule } from '../lib/scheduling.js';
import { classifyItem, invalidEntry, type InvalidReason } from './item.js';
import { abortable } from './abortable.js';
import { LosslessListMoves } from './lossless-list-moves.js';

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
  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
  /** A stuck bridge logs an error at most this often. @defaultValue 60000 */
  readonly stuckLogEveryMs?: number;
}

/** A batch failed while Redis answers and no single item could be blamed: retry, and say so. */
class BatchStuckError extends Error {
  override readonly name = 'BatchStuckError';
}

/** An error Redis itself answered with (as opposed to a connection failure or a JS-side throw). */
function isReplyError(err: Error): boolean {
  return err.name === 'ReplyError';
}

interface Candidate {
  /** Position in the batch (the invalid list keeps batch order). */
  readonly index: number;
  readonly raw: Buffer;
  readonly jobId: string;
  readonly payload: Record<string, unknown>;
  readonly fromPayload: boolean;
  readonly schedule: Schedule;
}

export class QueueBridge {
  readonly #o: QueueBridgeOptions;
  readonly #moves: LosslessListMoves;
  readonly #counterKey: string;
  #lastError = '';
  #lastStuckLog: number | undefined;
  readonly #clock: () => number;

  constructor(options: QueueBridgeOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#moves = new LosslessListMoves(options.command);
    this.#counterKey = `${options.prefix}:${options.queue.name}:id`;
  }

  /** Runs until the signal aborts; never rejects. */
  async run(): Promise<void> {
    const { signal, giveUp, logger } = this.#o;
    // The processing list may hold a batch a previous run (or a failed attempt) already bridged.
    let inDoubt = true;
    while (!signal.aborted) {
      try {
        if (inDoubt) {
          await abortable(this.#finishLeftovers(), giveUp);
          inDoubt = false;
          if (signal.aborted) break;
        }
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
          this.#moving();
          continue;
        }
        this.#moving();
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
          this.#stuck(err);
          await sleep(this.#o.retryDelayMs, signal);
          continue;
        }
        if (err.message !== this.#lastError) {
          logger.warn(`bridge step failed, retrying in ${this.#o.retryDelayMs} ms: ${err.message}`);
        } else {
          logger.debug(`bridge step failed again: ${err.message}`);
        }
        this.#lastError = err.message;
        await sleep(this.#o.retryDelayMs, signal);
      }
    }
  }

  async #finishLeftovers(): Promise<void> {
    let total = 0;
    for (;;) {
      const count = await this.#bridgeBatch(true);
      total += count;
      if (count === 0 || this.#o.signal.aborted) break;
    }
    if (total > 0) this.#o.logger.info(`finished ${total} item(s) left in ${this.#o.processingList}`);
    this.#lastError = '';
    this.#moving();
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

  /** The batch in hand failed while Redis answers: record since when, log at most once a minute. */
  #stuck(err: Error): void {
    const { stats, logger, queue, processingList } = this.#o;
    const now = this.#clock();
    if (stats.stuckSince === undefined || stats.stuckSince > now) stats.stuckSince = now;
    stats.stuckReason = err.message;
    const every = this.#o.stuckLogEveryMs ?? 60_000;
    const last = this.#lastStuckLog;
    if (last === undefined || now - last >= every || now < last) {
      this.#lastStuckLog = now;
      const seconds = Math.floor((now - stats.stuckSince) / 1000);
      logger.error(
        `[PONTE PARADA] ${queue.name}: o lote em ${processingList} não avança há ${seconds}s (Redis responde); ` +
          `nova tentativa a cada ${this.#o.retryDelayMs} ms: ${err.message}`,
      );
    } else {
      logger.debug(`bridge batch still failing: ${err.message}`);
    }
  }

  /** The bridge moves again (or has nothing to move): no longer stuck. */
  #moving(): void {
    const { stats, logger, queue } = this.#o;
    if (stats.stuckSince === undefined) return;
    const seconds = Math.floor((this.#clock() - stats.stuckSince) / 1000);
    logger.info(`[PONTE LIBERADA] ${queue.name}: a ponte voltou a andar após ${seconds}s parada`);
    stats.stuckSince = undefined;
    stats.stuckReason = '';
    this.#lastStuckLog = undefined;
  }

  /** How many items may be taken now (0: hold them in the list, back-pressure). */
  async #room(): Promise<number> {
    const { maxWaiting, batchSize, stats, logger } = this.#o;
    if (maxWaiting === 0) return batchSize;
    // Bridged jobs always carry a priority, so they wait in the prioritized set.
    const waiting = await this.#o.bullQueue.getJobCountByTypes('waiting', 'prioritized');
    const room = Math.max(0, Math.min(batchSize, maxWaiting - waiting));
    if (room === 0 && !stats.holding) {
      logger.warn(`${waiting} jobs waiting (limit ${maxWaiting}): holding items in ${this.#o.queue.sourceList}`);
    } else if (room > 0 && stats.holding) {
      logger.info(`${waiting} jobs waiting (limit ${maxWaiting}): moving items again`);
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
    const existing = await this.#existing(toCheck.map((c) => c.jobId));
    const toAdd: Candidate[] = [];
    let replayed = 0;
    for (const candidate of candidates) {
      if (!existing.has(candidate.jobId)) toAdd.push(candidate);
      else if (inDoubt) replayed++;
      else duplicates.push(candidate.payload.id as string | number);
    }

    if (toAdd.length > 0) {
      const rejected = await this.#addIsolating(toAdd);
      for (const { candidate, error } of rejected) {
        invalid.push({ index: candidate.index, raw: candidate.raw, reason: 'rejected', detail: error.message });
      }
      const added = toAdd.length - rejected.length;
      if (added > 0) {
        stats.moved += added;
        this.#notify(() => events.onMoved?.(queue.name, added));
      }
    }
    invalid.sort((a, b) => a.index - b.index);
    for (const item of invalid) {
      logger.warn(`invalid item (${item.reason}: ${item.detail}) moved to ${queue.invalidList}`, {
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
      logger.warn(`duplicate id ${JSON.stringify(id)}: a job with this id is still kept; not run again`);
      this.#notify(() => events.onDuplicate?.(queue.name, id));
    }
    if (replayed > 0) logger.info(`${replayed} item(s) of a replayed batch were already jobs`);
    return entries.length;
  }

  /**
   * Adds `candidates` as jobs, in order. When BullMQ refuses the batch while Redis answers, the
   * batch is split in halves until the items it refuses are alone; those are returned (the
   * caller sends them to the invalid list) and every other one is a job, still in order (a
   * re-added id is a no-op for BullMQ, so halves already added by a failed attempt stay put).
   * An outage is thrown as is (the loop retries the batch). When every single add fails with an
   * error Redis answered (out of memory, read-only replica...), no item is to blame: throws.
   */
  async #addIsolating(candidates: readonly Candidate[]): Promise<{ candidate: Candidate; error: Error }[]> {
    const rejected: { candidate: Candidate; error: Error }[] = [];
    const suspects: { candidate: Candidate; error: Error }[] = [];
    let anyAdded = false;
    // One "now" for the whole batch: a postponed item's delay does not depend on which half it is in.
    const addedAtMs = Date.now();
    const add = async (group: readonly Candidate[]): Promise<void> => {
      try {
        await this.#o.bullQueue.addBulk(
          group.map((c) => ({
            name: this.#o.queue.flow,
            data: c.payload,
            opts: { ...this.#o.jobOptions, ...scheduleJobOptions(c.schedule, addedAtMs), jobId: c.jobId },
          })),
        );
        anyAdded = true;
        return;
      } catch (thrown) {
        const error = coerceError(thrown);
        if (await this.#redisDown()) throw error;
        const [only] = group;
        if (group.length === 1 && only) {
          (isReplyError(error) ? suspects : rejected).push({ candidate: only, error });
          return;
        }
      }
      const half = Math.ceil(group.length / 2);
      await add(group.slice(0, half));
      await add(group.slice(half));
    };
    await add(candidates);
    if (suspects.length > 0 && !anyAdded && rejected.length === 0) {
      const first = suspects[0] as { error: Error };
      throw new BatchStuckError(`every job of the batch was refused: ${first.error.message}`, { cause: first.error });
    }
    rejected.push(...suspects);
    if (rejected.length > 0) {
      this.#o.logger.warn(`BullMQ refused ${rejected.length} of ${candidates.length} job(s); the others were added`);
    }
    return rejected;
  }

  /** Which of `jobIds` already have a job hash (one pipelined round trip). */
  async #existing(jobIds: readonly string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    const pipeline = this.#o.command.pipeline();
    for (const id of jobIds) pipeline.exists(`${this.#o.prefix}:${this.#o.queue.name}:${id}`);
    const results = (await pipeline.exec()) ?? [];
    const found = new Set<string>();
    results.forEach(([err, value], index) => {
      if (err) throw err;
      if (value === 1) found.add(jobIds[index] as string);
    });
    return found;
  }

  #notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#o.logger.error(`bridge callback failed: ${coerceError(err).message}`);
    }
  }
}
