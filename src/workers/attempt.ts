import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Page } from 'playwright';
import type { QueueConfig } from '../config/types.js';
import type { Flow, FlowContext, PortalCredentials } from '../flows/flow.js';
import { BrowserCrashedError, coerceError, JobTimeoutError, PermanentJobError } from '../lib/errors.js';
import { deadlineOf } from '../lib/scheduling.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { captureFailureArtifacts, fileSafe, jobFileStem, type FailureArtifacts } from './artifacts.js';
import type { BrowserSession } from './browser-session.js';
import { classifyFailure } from './classify-failure.js';
import type { ResultEntryInput } from './result-entry.js';
import { ResultWriteAbortedError, runOf, type JobRun, type ResultWriter } from './result-writer.js';

/** Screenshots of a failing attempt give up after this long (the page may be hung). */
const SCREENSHOT_TIMEOUT_MS = 5_000;

/**
 * How an attempt ended, for metrics and alerts: `retry` when BullMQ will try it again, `expired`
 * when its deadline passed before it could start.
 */
export type AttemptOutcome = 'ok' | 'error' | 'retry' | 'expired';

/** What one attempt needs from the unit running it. */
export interface AttemptDeps {
  readonly queue: QueueConfig;
  readonly flow: Flow;
  readonly portal: PortalCredentials;
  readonly artifactsDir: string;
  /** `Worker-<queue>-<n>`, written in the result entry. */
  readonly worker: string;
  /** `undefined` for flows without a browser. */
  readonly session: BrowserSession | undefined;
  readonly results: ResultWriter;
  readonly logger: Logger;
  /** Aborts when the unit is forced to close: the flow stops and no artifacts are taken. */
  readonly forced: AbortSignal;
  readonly onFinished: (outcome: AttemptOutcome, durationMs: number) => void;
}

/**
 * Runs one attempt of `job` in two steps: the flow under the queue's timeout, then (on success or
 * on the last attempt) the result entry. The entry is its own step: it is retried until it lands
 * and never counts as a failure of the flow, so the flow is not run again because of it; only a
 * forced close (shutdown past its timeout, self-fencing) gives it up, and then the job runs again
 * later ({@link settleIfRecorded} finds the entry if it did land). Returns the flow's result, or
 * throws what BullMQ should see (`UnrecoverableError` for permanent failures, so they are not
 * retried).
 */
export async function runAttempt(deps: AttemptDeps, job: Job, bullSignal?: AbortSignal): Promise<unknown> {
  const { queue, flow, session } = deps;
  const jobId = job.id ?? 'unknown';
  const attempt = job.attemptsMade + 1;
  const maxAttempts = Math.max(1, job.opts.attempts ?? 1);
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as Record<string, unknown>;
  const logger = deps.logger.child({ jobId });
  const startedAtMs = Date.now();
  const run = runOf(job);

  const controller = new AbortController();
  const abortWith = (reason: unknown): void => controller.abort(coerceError(reason));
  const onForced = (): void => abortWith(deps.forced.reason);
  const onBullAbort = (): void => abortWith(bullSignal?.reason ?? 'job cancelled');
  if (deps.forced.aborted) onForced();
  deps.forced.addEventListener('abort', onForced, { once: true });
  bullSignal?.addEventListener('abort', onBullAbort, { once: true });
  const timeoutMs = queue.timeoutSeconds * 1000;
  const timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
  const crashesBefore = session?.crashes ?? 0;
  let page: Page | null = null;
  const entryBase = { data, jobId, queue: queue.name, worker: deps.worker, attempts: attempt, startedAtMs };

  try {
    let result: unknown;
    try {
      page = session ? await untilAborted(session.page(), controller.signal) : null;
      const ctx: FlowContext = {
        page,
        data,
        portal: deps.portal,
        logger,
        signal: controller.signal,
        artifactsDir: path.join(deps.artifactsDir, fileSafe(queue.name)),
        jobId: jobFileStem(jobId),
      };
      result = await untilAborted(flow.run(ctx), controller.signal);
      assertSerializable(result);
    } catch (thrown) {
      const error = classifyFailure(thrown, {
        aborted: controller.signal.aborted,
        abortReason: controller.signal.reason,
        hadBrowser: session !== undefined,
        browserLost: session !== undefined && (session.crashes !== crashesBefore || !session.healthy),
      });
      throw await failAttempt(deps, job, error, { page, attempt, maxAttempts, entryBase, run, logger });
    } finally {
      clearTimeout(timer); // the flow is done: the result write is not under its timeout
    }
    const finishedAtMs = Date.now();
    const entry: ResultEntryInput = { ...entryBase, finishedAtMs, outcome: { status: 'ok', result } };
    if (!(await writeEntry(deps, entry, run, logger))) {
      finished(deps, 'retry', finishedAtMs - startedAtMs);
      throw coerceError(deps.forced.reason);
    }
    finished(deps, 'ok', finishedAtMs - startedAtMs);
    logger.info(`Job concluído em ${finishedAtMs - startedAtMs} ms (tentativa ${attempt}/${maxAttempts})`);
    return result;
  } finally {
    clearTimeout(timer);
    deps.forced.removeEventListener('abort', onForced);
    bullSignal?.removeEventListener('abort', onBullAbort);
    session?.afterJob();
  }
}

/** A flow result that cannot become JSON fails the job for good: running the flow again would not change it. */
function assertSerializable(result: unknown): void {
  try {
    JSON.stringify(result);
  } catch (err) {
    throw new PermanentJobError(`the flow's result cannot be written as JSON: ${coerceError(err).message}`);
  }
}

/**
 * Writes the attempt's result entry through the one writer, trying until it lands. Resolves true
 * when the entry is in the result list (written now or before, by this run), false when the unit
 * was forced to close first: the job runs again and no entry may be assumed.
 */
async function writeEntry(deps: AttemptDeps, entry: ResultEntryInput, run: JobRun, logger: Logger): Promise<boolean> {
  try {
    const written = await deps.results.write(entry, run, deps.forced);
    if (written === 'already-written') logger.warn('a entrada de resultado deste job já estava gravada: nenhuma nova');
    return true;
  } catch (err) {
    if (!(err instanceof ResultWriteAbortedError)) throw err;
    logger.warn(`Job interrompido antes de gravar o resultado (o worker foi forçado a fechar); volta à espera`);
    return false;
  }
}

/**
 * An attempt of a run whose result entry is already written (the attempt that wrote it died, or
 * BullMQ could not record the job's completion, and the job came back as stalled) settles the job
 * with that entry's outcome instead of running the flow again: resolves with what the job
 * returns, or throws an `UnrecoverableError` for a stored error. Undefined when the flow should
 * run. Only a job started before can have one, so a first start costs no Redis call.
 */
export async function settleIfRecorded(deps: AttemptDeps, job: Job): Promise<{ value: unknown } | undefined> {
  if (job.attemptsStarted <= 1) return undefined;
  const jobId = job.id ?? 'unknown';
  const entry = await deps.results.recorded(deps.queue.name, jobId, runOf(job), deps.forced);
  if (!entry) return undefined;
  const logger = deps.logger.child({ jobId });
  const what = `resultado já gravado (${entry.status}, tentativa ${entry.attempts}, ${entry.finishedAt})`;
  logger.warn(`Job volta com ${what}: concluído com esse resultado, sem executar o fluxo de novo`);
  await job.log(`${what}: fluxo não executado de novo`).catch(() => undefined);
  switch (entry.status) {
    case 'ok':
      return { value: entry.result };
    case 'expired':
      return { value: { expired: true, reason: entry.error?.message ?? '' } };
    case 'error':
      throw new UnrecoverableError(entry.error?.message ?? 'failed');
  }
}

/**
 * When the job's deadline passed before this attempt could start, the flow is not run: the job
 * completes with an `expired` result entry (CONTRACT.md) and this returns what the job returns.
 * A retry that comes due after the deadline ends here too, with the previous attempt's error in
 * the reason. Returns `undefined` when the attempt should run.
 */
export async function expireIfLate(
  deps: AttemptDeps,
  job: Job,
): Promise<{ expired: true; reason: string } | undefined> {
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as Record<string, unknown>;
  const startedAtMs = Date.now();
  const deadlineMs = deadlineOf(data);
  if (deadlineMs === undefined || startedAtMs <= deadlineMs) return undefined;
  const jobId = job.id ?? 'unknown';
  const attempt = job.attemptsMade + 1;
  const maxAttempts = Math.max(1, job.opts.attempts ?? 1);
  const deadline = new Date(deadlineMs).toISOString();
  const late = Math.round((startedAtMs - deadlineMs) / 1000);
  const previous = attempt > 1 && job.failedReason ? `; última falha: ${job.failedReason}` : '';
  const reason =
    attempt > 1
      ? `prazo ${deadline} passou antes da tentativa ${attempt}/${maxAttempts} (${late}s de atraso)${previous}`
      : `prazo ${deadline} passou antes do início (${late}s de atraso); não executado`;
  const logger = deps.logger.child({ jobId });
  const entry: ResultEntryInput = {
    data,
    jobId,
    queue: deps.queue.name,
    worker: deps.worker,
    attempts: attempt - 1,
    startedAtMs,
    finishedAtMs: startedAtMs,
    outcome: { status: 'expired', reason },
  };
  if (!(await writeEntry(deps, entry, runOf(job), logger))) throw coerceError(deps.forced.reason);
  logger.warn(`Job expirado: ${reason}`);
  await job.log(`expirado: ${reason}`).catch(() => undefined);
  finished(deps, 'expired', 0);
  return { expired: true, reason };
}

/** Saves artifacts, writes the error entry on the last attempt, logs; returns what to throw. */
async function failAttempt(
  deps: AttemptDeps,
  job: Job,
  error: Error,
  ctx: {
    page: Page | null;
    attempt: number;
    maxAttempts: number;
    entryBase: Omit<ResultEntryInput, 'finishedAtMs' | 'outcome'>;
    run: JobRun;
    logger: Logger;
  },
): Promise<Error> {
  const permanent = error instanceof PermanentJobError;
  // Forced (shutdown, or the instance fenced itself): not a failure of the job, which the stalled
  // check hands to another unit; no result entry may be written for it from here.
  const interrupted = deps.forced.aborted;
  const last = !interrupted && (permanent || ctx.attempt >= ctx.maxAttempts);
  let artifacts: FailureArtifacts | undefined;
  if (deps.session && !deps.forced.aborted) {
    artifacts = await captureFailureArtifacts({
      page: error instanceof BrowserCrashedError ? null : ctx.page,
      artifactsDir: deps.artifactsDir,
      queue: deps.queue.name,
      jobId: ctx.entryBase.jobId,
      attempt: ctx.attempt,
      error,
      timeoutMs: SCREENSHOT_TIMEOUT_MS,
    });
    if (ctx.page && error instanceof BrowserCrashedError && !artifacts.url) {
      artifacts = { screenshot: null, url: ctx.page.url() };
    }
    // A timed-out flow may still be driving the page: close it and have a fresh one ready.
    if (error instanceof JobTimeoutError) {
      await deps.session.resetPage().catch((err: unknown) => {
        ctx.logger.warn(`Não foi possível reabrir a página após o timeout: ${coerceError(err).message}`);
      });
    }
  }
  const finishedAtMs = Date.now();
  if (last) {
    const entry: ResultEntryInput = {
      ...ctx.entryBase,
      finishedAtMs,
      outcome: { status: 'error', error, permanent, ...(artifacts ? { artifacts } : {}) },
    };
    if (!(await writeEntry(deps, entry, ctx.run, ctx.logger))) {
      finished(deps, 'retry', finishedAtMs - ctx.entryBase.startedAtMs);
      return coerceError(deps.forced.reason);
    }
  }
  finished(deps, last ? 'error' : 'retry', finishedAtMs - ctx.entryBase.startedAtMs);
  const where = artifacts ? ` [screenshot: ${artifacts.screenshot ?? 'none'}; url: ${artifacts.url ?? 'none'}]` : '';
  const verdict = interrupted
    ? 'interrompido (o worker foi forçado a fechar); volta à espera'
    : permanent
      ? 'falhou de forma permanente'
      : last
        ? 'falhou na última tentativa'
        : 'falhou; será tentado de novo';
  ctx.logger[last ? 'error' : 'warn'](
    `Job ${verdict} (tentativa ${ctx.attempt}/${ctx.maxAttempts}): ${error.name}: ${error.message}${where}`,
  );
  if (artifacts) await job.log(`attempt ${ctx.attempt}: ${error.message}${where}`).catch(() => undefined);
  if (permanent) return new UnrecoverableError(`${error.message}${where}`);
  error.message = `${error.message}${where}`;
  return error;
}

function finished(deps: AttemptDeps, outcome: AttemptOutcome, durationMs: number): void {
  try {
    deps.onFinished(outcome, durationMs);
  } catch (err) {
    deps.logger.warn(`o hook onJobFinished lançou erro: ${coerceError(err).message}`);
  }
}
