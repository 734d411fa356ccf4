/** The entry the service RPUSHes to `queue.resultList` when a job finishes (CONTRACT.md "Result entry"). */
import type { FailureArtifacts } from './artifacts.js';

export interface ResultError {
  readonly name: string;
  readonly message: string;
  /** True for business failures that were not retried. */
  readonly permanent: boolean;
  /** Screenshot and URL of the failing attempt, when it ran in a browser. */
  readonly artifacts?: FailureArtifacts;
}

export interface ResultEntry {
  /** The payload's `id` (string or number, as given), else the BullMQ job id. */
  readonly id: string | number;
  readonly queue: string;
  /** `expired`: the deadline (`prazo`) passed before the job, or its next attempt, started. */
  readonly status: 'ok' | 'error' | 'expired';
  /** The flow's result; `null` on error and expiry. */
  readonly result: unknown;
  /** `null` when ok; on expiry `name` is `PrazoExpirado` and `message` the reason. */
  readonly error: ResultError | null;
  /** Attempts made, this one included. */
  readonly attempts: number;
  /** ISO time the last attempt started. */
  readonly startedAt: string;
  /** ISO time the last attempt finished. */
  readonly finishedAt: string;
  readonly durationMs: number;
  /** `Worker-<queue>-<n>` that ran the last attempt. */
  readonly worker: string;
}

export interface ResultEntryInput {
  readonly data: Readonly<Record<string, unknown>>;
  readonly jobId: string;
  readonly queue: string;
  readonly worker: string;
  readonly attempts: number;
  readonly startedAtMs: number;
  readonly finishedAtMs: number;
  readonly outcome:
    | { readonly status: 'ok'; readonly result: unknown }
    | {
        readonly status: 'error';
        readonly error: Error;
        readonly permanent: boolean;
        readonly artifacts?: FailureArtifacts;
      }
    | { readonly status: 'expired'; readonly reason: string };
}

/** `error.name` of an expired job's entry. */
export const EXPIRED_ERROR_NAME = 'PrazoExpirado';

function errorOf(outcome: ResultEntryInput['outcome']): ResultError | null {
  switch (outcome.status) {
    case 'ok':
      return null;
    case 'expired':
      return { name: EXPIRED_ERROR_NAME, message: outcome.reason, permanent: true };
    case 'error':
      return {
        name: outcome.error.name,
        message: outcome.error.message,
        permanent: outcome.permanent,
        ...(outcome.artifacts ? { artifacts: outcome.artifacts } : {}),
      };
  }
}

/** The payload's `id` when it is a string or a finite number, else the job id. */
export function resultIdFor(data: Readonly<Record<string, unknown>>, jobId: string): string | number {
  const id = data.id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  return jobId;
}

/** Builds the entry; pure. */
export function buildResultEntry(input: ResultEntryInput): ResultEntry {
  const { outcome } = input;
  return {
    id: resultIdFor(input.data, input.jobId),
    queue: input.queue,
    status: outcome.status,
    result: outcome.status === 'ok' ? (outcome.result ?? null) : null,
    error: errorOf(outcome),
    attempts: input.attempts,
    startedAt: new Date(input.startedAtMs).toISOString(),
    finishedAt: new Date(input.finishedAtMs).toISOString(),
    durationMs: Math.max(0, input.finishedAtMs - input.startedAtMs),
    worker: input.worker,
  };
}
