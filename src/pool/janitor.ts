import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { QueueConfig, RedisConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { sleep } from '../lib/sleep.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import { ResultWriter } from '../workers/result-writer.js';
import {
  STALLED_FAILED_REASON,
  STALLED_JOB_FIELDS,
  stalledEntryInput,
  stalledRun,
  type StalledJobFields,
} from '../workers/stalled-entry.js';

/** At start, failed jobs of the last day are looked at (a whole pool may have been down that long). */
const STARTUP_LOOKBACK_MS = 86_400_000;
/** Each later sweep looks back this far past the previous one (clock skew between instances). */
const SWEEP_OVERLAP_MS = 10 * 60_000;
/** The write-once marker outlives every sweep that may see the same failure. */
const MARKER_TTL_SECONDS = (STARTUP_LOOKBACK_MS + SWEEP_OVERLAP_MS) / 1000 + 3600;

export interface JanitorOptions {
  readonly queues: readonly Pick<QueueConfig, 'name' | 'resultList'>[];
  readonly redis: RedisConfig;
  readonly logger: Logger;
  /** How often stalled jobs are looked for, and failed ones swept for their entry. */
  readonly stalledIntervalMs: number;
  /** Same value as the worker units', so a job is judged stalled the same way. */
  readonly maxStalledCount: number;
  /** Failed jobs are kept this long (`jobs.keepFailedSeconds`): older ones are not looked at. */
  readonly keepFailedSeconds: number;
  /** A job went back to waiting: the scaler should look now (the queue may have no worker). */
  readonly onStalled?: (queue: string, jobId: string) => void;
  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
}

/**
 * Keeps BullMQ's stalled-job check running for every queue, even one scaled to zero workers: only
 * Workers run that check, so without this a job whose worker died would stay active forever.
 * One job-less Worker per queue (no processor, never fetches) with its stalled timer started.
 *
 * Also gives a job BullMQ failed for stalling too often its one `error` entry (CONTRACT.md "Result
 * entry"): BullMQ fails such a job without calling our processor, so no unit writes it. Every
 * `stalledIntervalMs` the failed jobs since the last sweep are read from the queue's `failed` set;
 * each one failed for stalling gets its entry through {@link ResultWriter.write}, under the marker
 * of the job's run, so with any number of instances (or a crash between the failure and the sweep)
 * it is written exactly once, a run whose entry a unit already wrote gets no second one, and a
 * retried job failing so again (a new run) gets a new one.
 */
export class StalledJanitor {
  readonly #workers: Worker[] = [];
  readonly #clock: () => number;
  readonly #abort = new AbortController();
  /** Per queue: failed job ids already looked at, with the failure time seen (pruned past the overlap). */
  readonly #looked = new Map<string, Map<string, number>>();
  #connection: Redis | undefined;
  #sweeping: Promise<void> | undefined;
  #lastError = '';
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: JanitorOptions) {
    this.#clock = options.clock ?? Date.now;
  }

  start(): Promise<void> {
    this.#starting ??= this.#doStart();
    return this.#starting;
  }

  async #doStart(): Promise<void> {
    const { redis, logger } = this.options;
    this.#connection = createRedis(redis, 'blocking', logger, 'janitor');
    for (const { name: queue } of this.options.queues) {
      const worker = new Worker(queue, undefined, {
        connection: this.#connection,
        prefix: redis.prefix,
        autorun: false,
        name: `janitor-${queue}`,
        stalledInterval: this.options.stalledIntervalMs,
        maxStalledCount: this.options.maxStalledCount,
      });
      worker.on('error', (err) => logger.debug(`janitor ${queue}: ${err.message}`));
      worker.on('stalled', (jobId) => {
        logger.warn(`job ${jobId} de ${queue} travado (o worker dele morreu): de volta à espera`, { queue });
        this.options.onStalled?.(queue, jobId);
      });
      this.#workers.push(worker);
      await worker.startStalledCheckTimer();
    }
    if (!this.#abort.signal.aborted) this.#sweeping = this.#sweepLoop(this.#connection);
  }

  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  async #doClose(): Promise<void> {
    this.#abort.abort();
    await this.#starting?.catch(() => undefined);
    await Promise.allSettled(this.#workers.map((w) => w.close(true)));
    this.#connection?.disconnect();
    await this.#sweeping;
  }

  async #sweepLoop(connection: Redis): Promise<void> {
    const signal = this.#abort.signal;
    const lookbackMs = Math.min(STARTUP_LOOKBACK_MS, this.options.keepFailedSeconds * 1000);
    let since = this.#clock() - lookbackMs;
    while (!signal.aborted) {
      const startedAt = this.#clock();
      try {
        // Abandoned on close: a command queued while Redis is unreachable may never settle.
        for (const queue of this.options.queues) await untilAborted(this.#sweep(connection, queue, since), signal);
        since = startedAt - SWEEP_OVERLAP_MS;
        this.#lastError = '';
      } catch (err) {
        const message = coerceError(err).message;
        if (!signal.aborted && message !== this.#lastError) {
          this.options.logger.warn(`janitor: falha ao procurar jobs falhos por travamento: ${message}`);
        }
        this.#lastError = message;
      }
      await sleep(this.options.stalledIntervalMs, signal);
    }
  }

  /** Writes the entry of every job of `queue` failed for stalling since `sinceMs` (not looked at yet). */
  async #sweep(connection: Redis, queue: Pick<QueueConfig, 'name' | 'resultList'>, sinceMs: number): Promise<void> {
    const { prefix } = this.options.redis;
    const looked = this.#looked.get(queue.name) ?? new Map<string, number>();
    this.#looked.set(queue.name, looked);
    for (const [id, failedAt] of looked) if (failedAt < sinceMs) looked.delete(id);

    const flat = await connection.zrangebyscore(`${prefix}:${queue.name}:failed`, sinceMs, '+inf', 'WITHSCORES');
    const fresh: { id: string; failedAt: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const id = flat[i] as string;
      const failedAt = Number(flat[i + 1]);
      if (looked.get(id) !== failedAt) fresh.push({ id, failedAt });
    }
    if (fresh.length === 0) return;
    const reasons = connection.pipeline();
    for (const { id } of fresh) reasons.hget(`${prefix}:${queue.name}:${id}`, 'failedReason');
    const replies = (await reasons.exec()) ?? [];
    const writer = new ResultWriter({
      redis: connection,
      prefix,
      resultList: queue.resultList,
      markerTtlSeconds: MARKER_TTL_SECONDS,
      logger: this.options.logger,
    });
    for (const [i, { id, failedAt }] of fresh.entries()) {
      const [err, reason] = replies[i] ?? [];
      if (err) throw err;
      if (reason === STALLED_FAILED_REASON) await this.#writeEntry(connection, writer, queue.name, id, failedAt);
      looked.set(id, failedAt);
    }
  }

  async #writeEntry(
    connection: Redis,
    writer: ResultWriter,
    queue: string,
    jobId: string,
    failedAt: number,
  ): Promise<void> {
    const { prefix } = this.options.redis;
    const values = await connection.hmget(`${prefix}:${queue}:${jobId}`, ...STALLED_JOB_FIELDS);
    const [data, finishedOn, processedBy, attemptsStarted, stalledCount, timestamp, attemptsMade] = values;
    const fields: StalledJobFields = {
      data: data ?? null,
      finishedOn: finishedOn ?? String(failedAt),
      processedBy: processedBy ?? null,
      attemptsStarted: attemptsStarted ?? null,
      stalledCount: stalledCount ?? null,
      timestamp: timestamp ?? null,
      attemptsMade: attemptsMade ?? null,
    };
    const input = stalledEntryInput(queue, jobId, fields, this.options.maxStalledCount);
    const written = await writer.write(input, stalledRun(fields), this.#abort.signal);
    if (written === 'written') {
      this.options.logger.warn(
        `job ${jobId} de ${queue} falhou por travar mais de ${this.options.maxStalledCount} vez(es): ` +
          `entrada de erro gravada`,
        { queue, jobId },
      );
    }
  }
}
