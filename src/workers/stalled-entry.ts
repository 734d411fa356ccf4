/**
 * The result entry of a job BullMQ failed on its own for stalling too often (CONTRACT.md "Result
 * entry": its worker died, was forced to close or fenced itself more than `maxStalledCount` times).
 * BullMQ never hands such a job to our processor: the stalled check marks it, and the next Worker
 * that takes it fails it at once. Pure: what the janitor reads from the job hash in, the entry out.
 */
import type { ResultEntryInput } from './result-entry.js';
import type { JobRun } from './result-writer.js';

/** `failedReason` BullMQ gives a job it failed for stalling (bullmq 6.7.0, moveStalledJobsToWait). */
export const STALLED_FAILED_REASON = 'job stalled more than allowable limit';

/** `error.name` of the entry of a job failed for stalling. */
export const STALLED_ERROR_NAME = 'JobTravado';

/** The job hash fields the entry is made of (`HMGET`), as Redis returns them. */
export interface StalledJobFields {
  /** The payload, JSON. */
  readonly data: string | null;
  /** ms since epoch when BullMQ failed it. */
  readonly finishedOn: string | null;
  /** The Worker that took the job last (and failed it): `Worker-<queue>-<n>`. */
  readonly processedBy: string | null;
  /** Times a Worker took the job, the last (failing) one included. */
  readonly attemptsStarted: string | null;
  /** Times the job stalled. */
  readonly stalledCount: string | null;
  /** ms since epoch when the job was added (`timestamp`): with `attemptsMade`, the run its entry belongs to. */
  readonly timestamp: string | null;
  /** Attempts BullMQ counted, the failing take included (`atm`). */
  readonly attemptsMade: string | null;
}

/** The hash fields of {@link StalledJobFields}, in its order. */
export const STALLED_JOB_FIELDS = ['data', 'finishedOn', 'pb', 'ats', 'stc', 'timestamp', 'atm'] as const;

/** The entry for `jobId` of `queue`, failed by BullMQ after stalling more than `maxStalledCount` times. */
export function stalledEntryInput(
  queue: string,
  jobId: string,
  fields: StalledJobFields,
  maxStalledCount: number,
): ResultEntryInput {
  const finishedAtMs = Number(fields.finishedOn ?? Number.NaN) || Date.now();
  const stalls = Number(fields.stalledCount ?? 0) || maxStalledCount + 1;
  const error = new Error(
    `o job travou ${stalls} vez(es) (o worker dele morreu, foi forçado a fechar ou se isolou no meio da ` +
      `execução); o limite é ${maxStalledCount}: falhou sem rodar de novo`,
  );
  error.name = STALLED_ERROR_NAME;
  return {
    data: parseData(fields.data),
    jobId,
    queue,
    worker: fields.processedBy ?? '',
    // The last take only failed the job; it ran no attempt.
    attempts: Math.max(0, Number(fields.attemptsStarted ?? 0) - 1),
    startedAtMs: finishedAtMs,
    finishedAtMs,
    outcome: { status: 'error', error, permanent: true },
  };
}

function parseData(data: string | null): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(data ?? '{}');
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * The run the failing take belonged to (`result-writer.ts`): BullMQ counted that take's end in
 * `atm`, so the run began one count lower. An entry the unit already wrote for that run (its
 * completion lost before the job stalled again) is found under the same marker: no second entry.
 */
export function stalledRun(fields: StalledJobFields): JobRun {
  return {
    createdAtMs: Number(fields.timestamp ?? 0) || 0,
    attemptsMade: Math.max(0, (Number(fields.attemptsMade ?? 0) || 0) - 1),
  };
}
