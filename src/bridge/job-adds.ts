/** Adding a batch of bridged items to BullMQ: which already exist, and adding while isolating refused items. */
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { coerceError } from '../lib/errors.js';
import type { Logger } from '../logging/logger.js';
import { scheduleJobOptions, type Schedule } from '../lib/scheduling.js';
import type { CompletedJobIds } from '../workers/completed-ids.js';

/** The queue a batch goes to, and how to tell an outage from a refusal. */
export interface JobTarget {
  readonly bullQueue: Queue;
  /** The queue's name, as in its job hash keys `<prefix>:<queue>:<jobId>`. */
  readonly queue: string;
  /** Job name (the queue's flow). */
  readonly flow: string;
  readonly jobOptions: JobsOptions;
  /** Key prefix of `bullQueue`. */
  readonly prefix: string;
  readonly command: Redis;
  /** Ids of completed jobs whose whole job already lapsed, still within the duplicate window. */
  readonly completedIds?: CompletedJobIds;
  readonly logger: Logger;
  /** True when Redis does not answer (the error is an outage, not a refusal). */
  redisDown(): Promise<boolean>;
}

/** One item of a batch, classified and ready to become a job. */
export interface Candidate {
  /** Position in the batch (the invalid list keeps batch order). */
  readonly index: number;
  readonly raw: Buffer;
  readonly jobId: string;
  readonly payload: Record<string, unknown>;
  readonly fromPayload: boolean;
  readonly schedule: Schedule;
}

export /** A batch failed while Redis answers and no single item could be blamed: retry, and say so. */
class BatchStuckError extends Error {
  override readonly name = 'BatchStuckError';
}

/** An error Redis itself answered with (as opposed to a connection failure or a JS-side throw). */
function isReplyError(err: Error): boolean {
  return err.name === 'ReplyError';
}

/**
 * Adds `candidates` as jobs, in order. When BullMQ refuses the batch while Redis answers, the
 * batch is split in halves until the items it refuses are alone; those are returned (the
 * caller sends them to the invalid list) and every other one is a job, still in order (a
 * re-added id is a no-op for BullMQ, so halves already added by a failed attempt stay put).
 * An outage is thrown as is (the loop retries the batch). When every single add fails with an
 * error Redis answered (out of memory, read-only replica...), no item is to blame: throws.
 */
export async function addIsolating(
  to: JobTarget,
  candidates: readonly Candidate[],
): Promise<{ candidate: Candidate; error: Error }[]> {
  const rejected: { candidate: Candidate; error: Error }[] = [];
  const suspects: { candidate: Candidate; error: Error }[] = [];
  let anyAdded = false;
  // One "now" for the whole batch: a postponed item's delay does not depend on which half it is in.
  const addedAtMs = Date.now();
  const add = async (group: readonly Candidate[]): Promise<void> => {
    try {
      await to.bullQueue.addBulk(
        group.map((c) => ({
          name: to.flow,
          data: c.payload,
          opts: { ...to.jobOptions, ...scheduleJobOptions(c.schedule, addedAtMs), jobId: c.jobId },
        })),
      );
      anyAdded = true;
      return;
    } catch (thrown) {
      const error = coerceError(thrown);
      if (await to.redisDown()) throw error;
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
    to.logger.warn(`BullMQ recusou ${rejected.length} de ${candidates.length} job(s); os demais foram adicionados`);
  }
  return rejected;
}

/**
 * Which of `jobIds` name a retained job: one with a job hash (any state), or a completed one whose
 * whole job lapsed but whose id is still within the duplicate window (`completed-ids.ts`). Two
 * pipelined round trips, sent together.
 */
export async function existingJobIds(to: JobTarget, jobIds: readonly string[]): Promise<Set<string>> {
  if (jobIds.length === 0) return new Set();
  const pipeline = to.command.pipeline();
  for (const id of jobIds) pipeline.exists(`${to.prefix}:${to.queue}:${id}`);
  const [results, completed] = await Promise.all([
    pipeline.exec(),
    to.completedIds?.completed(jobIds) ?? Promise.resolve(new Set<string>()),
  ]);
  const found = completed;
  (results ?? []).forEach(([err, value], index) => {
    if (err) throw err;
    if (value === 1) found.add(jobIds[index] as string);
  });
  return found;
}
