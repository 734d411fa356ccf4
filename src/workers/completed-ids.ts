/**
 * The duplicate window outlives the whole completed job (CONTRACT.md "Job payload and identity";
 * `jobs.keepCompletedSeconds` vs `jobs.keepCompletedJobSeconds`): the ids of completed jobs, in
 * per-queue time buckets `<prefix>:rpa:seen:<queue>:<bucket start, epoch s>`, each a Redis set
 * that expires on its own once every id in it is past the window. ~60 bytes per id instead of
 * ~1.3 KB per whole job.
 *
 * Why no duplicate slips through: an id is recorded by the unit that ran the job just before it
 * hands the job to BullMQ to complete, and BullMQ removes the whole job only
 * `keepCompletedJobSeconds` after completing it. So at every moment a job with that id either
 * still has its hash (waiting, delayed, active, failed, or completed and within the whole-job
 * retention) or its id is in a live bucket; the check looks at both. A crash between recording
 * and completing leaves the job active: it runs again and is recorded again (same id, same set).
 * Nothing is written when the job is added: the job hash itself is the record until completion.
 */
import type { Redis } from 'ioredis';
import { remembersCompletedIds, type Retention } from './job-options.js';

/** A bucket holds ids of this fraction of the window: a bucket outlives its newest id by at most 1/24. */
const BUCKETS_PER_WINDOW = 24;
/** Extra life of a bucket (at most one bucket width): between recording and completing, clock skew between instances. */
const MARGIN_SECONDS = 60;

/** Width of a bucket for a duplicate window of `windowSeconds`, s. Pure. */
export function bucketSecondsFor(windowSeconds: number): number {
  return Math.max(1, Math.ceil(windowSeconds / BUCKETS_PER_WINDOW));
}

/** When (epoch s) the bucket starting at `startSeconds` is deleted by Redis. Pure. */
export function bucketExpiresAt(startSeconds: number, windowSeconds: number): number {
  const width = bucketSecondsFor(windowSeconds);
  return startSeconds + width + windowSeconds + Math.min(MARGIN_SECONDS, width);
}

/** Start (epoch s) of the bucket that takes an id recorded at `nowMs`. Pure. */
export function bucketStartAt(nowMs: number, windowSeconds: number): number {
  const width = bucketSecondsFor(windowSeconds);
  return Math.floor(Math.floor(nowMs / 1000) / width) * width;
}

/** Starts of every bucket that may still hold an id at `nowMs` (not yet expired), newest first. Pure. */
export function liveBucketStarts(nowMs: number, windowSeconds: number): number[] {
  const width = bucketSecondsFor(windowSeconds);
  const now = Math.floor(nowMs / 1000);
  const starts: number[] = [];
  for (let start = bucketStartAt(nowMs, windowSeconds); bucketExpiresAt(start, windowSeconds) > now; start -= width) {
    starts.push(start);
  }
  return starts;
}

export interface CompletedJobIdsOptions {
  /** `redis.prefix`. */
  readonly prefix: string;
  readonly queue: string;
  readonly retention: Retention;
  /** ms since epoch. @defaultValue Date.now */
  readonly clock?: () => number;
}

/** Records and looks up the ids of one queue's completed jobs for the duplicate window. */
export class CompletedJobIds {
  readonly #redis: Redis;
  readonly #window: number;
  readonly #keyPrefix: string;
  readonly #clock: () => number;
  /** False when whole jobs are kept for the entire window: their hashes are the record, nothing is written. */
  readonly enabled: boolean;

  constructor(redis: Redis, options: CompletedJobIdsOptions) {
    this.#redis = redis;
    this.#window = options.retention.keepCompletedSeconds;
    this.#keyPrefix = `${options.prefix}:rpa:seen:${options.queue}:`;
    this.#clock = options.clock ?? Date.now;
    this.enabled = remembersCompletedIds(options.retention);
  }

  /** Records that `jobId` completes now (call before BullMQ completes it). One MULTI: SADD + EXPIREAT. */
  async record(jobId: string): Promise<void> {
    if (!this.enabled) return;
    const start = bucketStartAt(this.#clock(), this.#window);
    const key = `${this.#keyPrefix}${start}`;
    const replies = await this.#redis
      .multi()
      .sadd(key, jobId)
      .expireat(key, bucketExpiresAt(start, this.#window))
      .exec();
    const failed = (replies ?? []).find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error('recording a completed job id: transaction aborted');
  }

  /** Which of `jobIds` completed within the window (one pipelined round trip, SMISMEMBER per live bucket). */
  async completed(jobIds: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (!this.enabled || jobIds.length === 0) return found;
    const pipeline = this.#redis.pipeline();
    for (const start of liveBucketStarts(this.#clock(), this.#window)) {
      pipeline.smismember(`${this.#keyPrefix}${start}`, ...jobIds);
    }
    for (const [err, flags] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      (flags as number[]).forEach((flag, i) => {
        if (flag === 1) found.add(jobIds[i] as string);
      });
    }
    return found;
  }
}
