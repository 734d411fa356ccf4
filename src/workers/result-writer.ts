/**
 * The one writer of result entries (CONTRACT.md "Result entry"), written exactly once per run of a
 * job whatever fails around the write.
 *
 * The entry is RPUSHed by a Lua script that also records it under a marker key of the job's run
 * (`<redis.prefix>:rpa:result:<queue>:<jobId>:<run>`), in one atomic step:
 * - a retry of a write that did land (its reply was lost, ioredis resent it after a reconnect, a
 *   stale attempt of the same run writes too) finds the marker and pushes nothing;
 * - an attempt that starts after the run's entry was written (BullMQ's completion step failed, or
 *   the process died between the write and the completion, and the job came back as stalled)
 *   reads the marker ({@link ResultWriter.recorded}) and settles the job with the stored outcome
 *   instead of running the flow again.
 *
 * A run is the job's creation time plus the attempts BullMQ had counted when the writing attempt
 * began (`job.attemptsMade`). BullMQ counts an attempt only in its completion step, so every
 * attempt of one run that could race on the write sees the same count, while an operator's retry
 * of a finished job (`npm run items -- retry`, Bull Board) comes with a higher count: a new run,
 * which writes its own entry. A job added again under a reused id has a new creation time.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { coerceError } from '../lib/errors.js';
import { sleep } from '../lib/sleep.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import { buildResultEntry, type ResultEntry, type ResultEntryInput } from './result-entry.js';

/**
 * Sets the run's marker (holding the entry) and pushes the entry, unless the marker was there. A
 * push Redis refuses (a wrong-typed list) takes the marker back, so a failed push is retried,
 * never taken for a landed one. KEYS: marker, result list. ARGV: entry, marker TTL in ms.
 * Returns 1 pushed, 0 already there.
 */
const WRITE_ONCE_SCRIPT = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local pushed = redis.pcall('RPUSH', KEYS[2], ARGV[1])
if type(pushed) == 'table' and pushed.err then
  redis.call('DEL', KEYS[1])
  return pushed
end
return 1
`;

/** Which run of a job an entry belongs to (see the file comment). */
export interface JobRun {
  /** `job.timestamp`: when the job was added. */
  readonly createdAtMs: number;
  /** `job.attemptsMade` when the attempt began (before BullMQ counts this attempt's end). */
  readonly attemptsMade: number;
}

/** The run an attempt of `job` belongs to; call it with the job as the processor received it. */
export function runOf(job: Pick<Job, 'timestamp' | 'attemptsMade'>): JobRun {
  return { createdAtMs: job.timestamp, attemptsMade: job.attemptsMade };
}

/** The write was given up because `signal` aborted (forced close, fence): it may not have landed. */
export class ResultWriteAbortedError extends Error {
  override readonly name = 'ResultWriteAbortedError';
}

/** Options for {@link ResultWriter}. */
export interface ResultWriterOptions {
  /** A command connection (the script is defined on it). */
  readonly redis: Redis;
  /** `redis.prefix`: the marker keys live under `<prefix>:rpa:result:`. */
  readonly prefix: string;
  /** The queue's `resultList`. */
  readonly resultList: string;
  /**
   * How long a run's marker is kept: at least as long as the job can come back after its entry was
   * written (its completion lost, then returned by the stalled check, which puts it before every
   * waiting job). Past it, the marker only costs memory: a finished job runs again only as a new
   * run (an operator's retry). The worker units use the whole completed job's retention
   * (`jobs.keepCompletedJobSeconds`), at least 10 minutes.
   */
  readonly markerTtlSeconds: number;
  /**
   * Each entry waits for the replicas (WAIT) before `write` resolves, so it survives a failover
   * once the job completes (redis/replica-wait.ts). @defaultValue none
   */
  readonly replicas?: ReplicaWait;
  readonly logger: Logger;
  /** First wait before retrying a failed write; doubles each time. @defaultValue 200 */
  readonly retryMinMs?: number;
  /** Longest wait between two tries. @defaultValue 5000 */
  readonly retryMaxMs?: number;
}

/** Markers outlive at least this, whatever the retention: a stalled job comes back within it. */
const MIN_MARKER_TTL_MS = 10 * 60_000;
/** While a write keeps failing, a line at `warn` at most this often (the rest at `debug`). */
const WARN_EVERY_MS = 60_000;

type WriteOnceCommand = (marker: string, list: string, entry: string, ttlMs: number) => Promise<number>;

/** Where the entry of `run` of job `jobId` of `queue` is recorded. */
export function resultMarkerKey(prefix: string, queue: string, jobId: string, run: JobRun): string {
  return `${prefix}:rpa:result:${queue}:${jobId}:${run.createdAtMs}:${run.attemptsMade}`;
}

/** The one writer of result entries of one result list; see the file comment. */
export class ResultWriter {
  readonly #redis: Redis & { rpaWriteResultOnce?: WriteOnceCommand };
  readonly #options: ResultWriterOptions;

  constructor(options: ResultWriterOptions) {
    this.#options = options;
    this.#redis = options.redis;
    if (typeof this.#redis.rpaWriteResultOnce !== 'function') {
      this.#redis.defineCommand('rpaWriteResultOnce', { numberOfKeys: 2, lua: WRITE_ONCE_SCRIPT });
    }
  }

  /**
   * Writes the entry for `run` of the job `input.jobId` of `input.queue`, once: tried again with
   * a growing pause until it lands, for as long as `signal` allows. Resolves `written`, or
   * `already-written` when this run's entry was there before. Rejects only with
   * {@link ResultWriteAbortedError}, when `signal` aborts first.
   */
  async write(input: ResultEntryInput, run: JobRun, signal?: AbortSignal): Promise<'written' | 'already-written'> {
    const entry = JSON.stringify(buildResultEntry(input));
    const ttlMs = Math.max(MIN_MARKER_TTL_MS, this.#options.markerTtlSeconds * 1000);
    const marker = resultMarkerKey(this.#options.prefix, input.queue, input.jobId, run);
    const pushed = await this.#retrying(input.jobId, `gravar em ${this.#options.resultList}`, signal, async () => {
      const command = this.#redis.rpaWriteResultOnce as WriteOnceCommand;
      const answer = Number(await command.call(this.#redis, marker, this.#options.resultList, entry, ttlMs));
      // Also after `already-written`: the earlier write's reply (and its WAIT) may have been lost.
      await this.#options.replicas?.confirm(this.#redis, 'uma entrada de resultado');
      return answer;
    });
    return pushed === 1 ? 'written' : 'already-written';
  }

  /**
   * The entry already written for `run` of the job, or undefined. Read again with a growing
   * pause while Redis fails, for as long as `signal` allows ({@link ResultWriteAbortedError}).
   */
  async recorded(queue: string, jobId: string, run: JobRun, signal?: AbortSignal): Promise<ResultEntry | undefined> {
    const marker = resultMarkerKey(this.#options.prefix, queue, jobId, run);
    const entry = await this.#retrying(jobId, `ler ${marker}`, signal, () => this.#redis.get(marker));
    return entry === null ? undefined : (JSON.parse(entry) as ResultEntry);
  }

  /** Runs `action` until it succeeds or `signal` aborts; `what` names it in the log lines. */
  async #retrying<T>(
    jobId: string,
    what: string,
    signal: AbortSignal | undefined,
    action: () => Promise<T>,
  ): Promise<T> {
    const { logger } = this.#options;
    const minMs = this.#options.retryMinMs ?? 200;
    const maxMs = this.#options.retryMaxMs ?? 5000;
    let failures = 0;
    let lastWarnAt = -Infinity;
    for (;;) {
      if (signal?.aborted) {
        throw new ResultWriteAbortedError(
          `result entry of job ${jobId}: gave up after ${failures} failed tries (${coerceError(signal.reason).message})`,
          { cause: signal.reason },
        );
      }
      try {
        const value = signal ? await untilAborted(action(), signal) : await action();
        if (failures > 0) logger.info(`resultado do job ${jobId}: ${what} deu certo após ${failures} falha(s)`);
        return value;
      } catch (err) {
        if (signal?.aborted) continue; // reported above, with the abort's reason
        failures += 1;
        const waitMs = Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 20));
        const now = Date.now();
        const level = now - lastWarnAt >= WARN_EVERY_MS ? 'warn' : 'debug';
        if (level === 'warn') lastWarnAt = now;
        logger.log(
          level,
          `resultado do job ${jobId}: não foi possível ${what} (${coerceError(err).message}); ` +
            `tentando de novo em ${waitMs} ms (falha ${failures})`,
        );
        await sleep(waitMs, signal);
      }
    }
  }
}
