import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Page } from 'playwright';
import type { BrowserConfig, QueueConfig, RedisConfig } from '../config/types.js';
import type { Flow, FlowContext, PortalCredentials } from '../flows/flow.js';
import { BrowserCrashedError, coerceError, JobTimeoutError, PermanentJobError } from '../lib/errors.js';
import { deadlineOf } from '../lib/scheduling.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import { captureFailureArtifacts, fileSafe, type FailureArtifacts } from './artifacts.js';
import { BrowserSession, type RestartReason } from './browser-session.js';
import type { TreeMemory } from './process-tree.js';
import { buildResultEntry, type ResultEntryInput } from './result-entry.js';
import { assertTransition, type UnitState } from './unit-state.js';

export { UNIT_STATES, type UnitState } from './unit-state.js';

/** Options for {@link WorkerUnit}. */
export interface WorkerUnitOptions {
  readonly queue: QueueConfig;
  /** n in `Worker-<queue>-<n>`. */
  readonly index: number;
  readonly flow: Flow;
  readonly browser: BrowserConfig;
  readonly portal: PortalCredentials;
  readonly redis: RedisConfig;
  /** Screenshots of failing attempts and files flows download go under `<artifactsDir>/<queue>/`. */
  readonly artifactsDir: string;
  readonly logger: Logger;
  readonly keepCompletedSeconds: number;
  readonly keepFailedSeconds: number;
  /** BullMQ job lock: a job whose process died is judged stalled after this. @defaultValue 30000 */
  readonly lockDurationMs?: number;
  /** How often this Worker looks for stalled jobs. @defaultValue 30000 */
  readonly stalledIntervalMs?: number;
  /** Times a job may stall before BullMQ fails it. @defaultValue 2 */
  readonly maxStalledCount?: number;
  readonly onStateChange?: (unit: WorkerUnit, from: UnitState, to: UnitState) => void;
  readonly onJobFinished?: (info: {
    queue: string;
    worker: string;
    outcome: 'ok' | 'error' | 'retry' | 'expired';
    durationMs: number;
  }) => void;
  /** The browser was relaunched (crash, recycle by jobs or memory, page that would not close). */
  readonly onBrowserRestart?: (info: { queue: string; worker: string; reason: RestartReason; detail: string }) => void;
  /**
   * The browser's whole process tree was measured (between jobs); `memory` is undefined once the
   * unit has closed its browser.
   */
  readonly onBrowserMemory?: (info: { queue: string; worker: string; memory: TreeMemory | undefined }) => void;
}

/** Playwright's words for a browser, context or page that went away under a call. */
const TARGET_GONE =
  /Target (page, context or browser )?(has been )?closed|Target crashed|Browser has been closed|browser has disconnected/i;

/** Screenshots of a failing attempt give up after this long (the page may be hung). */
const SCREENSHOT_TIMEOUT_MS = 5_000;

/**
 * One BullMQ Worker (concurrency 1) plus, when its flow needs one, one Chromium launched before
 * the first job, with one context and page kept across jobs. Writes the result entry of every
 * job it finishes (CONTRACT.md), and never interrupts a running job unless forced.
 */
export class WorkerUnit {
  readonly name: string;
  readonly #options: WorkerUnitOptions;
  readonly #logger: Logger;
  #state: UnitState = 'starting';
  #session: BrowserSession | undefined;
  #worker: Worker | undefined;
  #results: Redis | undefined;
  #bullConnection: Redis | undefined;
  #current: AbortController | undefined;
  #forced = false;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #cleaning: Promise<void> | undefined;

  constructor(options: WorkerUnitOptions) {
    this.#options = options;
    this.name = `Worker-${options.queue.name}-${options.index}`;
    this.#logger = options.logger;
  }

  get state(): UnitState {
    return this.#state;
  }

  /** Launches the browser if the flow needs one, then creates the BullMQ Worker; resolves when ready. */
  start(): Promise<void> {
    return (this.#starting ??= this.#doStart());
  }

  /** Takes no new job, lets the current one finish, closes the Worker then the browser. Idempotent. */
  retire(): Promise<void> {
    if (this.#state !== 'closed' && this.#state !== 'draining') this.#setState('draining');
    return this.#shutdown(false);
  }

  /**
   * Like {@link retire}; with `force` the running flow is aborted through its signal and the
   * Worker closed without waiting (its job returns to waiting after the stalled check).
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) {
      this.#forced = true;
      this.#current?.abort(new Error(`worker ${this.name} was forced to close`));
      // A graceful close already under way waits on Redis for the job's completion; with Redis
      // unreachable that wait never ends. Dropping the socket ends it: the job stays active and
      // the stalled check returns it to waiting once Redis is back.
      const bull = this.#bullConnection;
      if (this.#stopping && bull && bull.status !== 'ready') bull.disconnect();
      // The browser goes now, whatever the Worker still waits for.
      void this.#session?.close().catch(() => undefined);
    }
    if (this.#state !== 'closed' && this.#state !== 'draining') this.#setState('draining');
    return this.#shutdown(Boolean(options.force));
  }

  /** The browser session, for tests and diagnostics (`undefined` for flows without a browser). */
  get browserSession(): BrowserSession | undefined {
    return this.#session;
  }

  async #doStart(): Promise<void> {
    const { queue, flow, redis } = this.#options;
    try {
      // FlowContext.artifactsDir promises flows an existing folder.
      await fs.mkdir(path.join(this.#options.artifactsDir, fileSafe(queue.name)), { recursive: true });
      if (flow.needsBrowser) {
        this.#session = new BrowserSession({
          browser: this.#options.browser,
          logger: this.#logger,
          actionTimeoutMs: Math.min(queue.timeoutSeconds * 1000, 30_000),
          onRestart: (reason, detail) =>
            this.#options.onBrowserRestart?.({ queue: queue.name, worker: this.name, reason, detail }),
          onMemory: (memory) => this.#options.onBrowserMemory?.({ queue: queue.name, worker: this.name, memory }),
        });
        await this.#session.start();
      }
      if (this.#state !== 'starting') return; // retired or closed while the browser launched
      this.#results = createRedis(redis, 'command', this.#logger, `${this.name}-results`);
      this.#bullConnection = createRedis(redis, 'blocking', this.#logger, this.name);
      const worker = new Worker(queue.name, (job, token, signal) => this.#process(job, token, signal), {
        connection: this.#bullConnection,
        prefix: redis.prefix,
        concurrency: 1,
        name: this.name,
        autorun: true,
        removeOnComplete: { age: this.#options.keepCompletedSeconds },
        removeOnFail: { age: this.#options.keepFailedSeconds },
        lockDuration: this.#options.lockDurationMs ?? 30_000,
        stalledInterval: this.#options.stalledIntervalMs ?? 30_000,
        maxStalledCount: this.#options.maxStalledCount ?? 2,
      });
      worker.on('error', (err) => {
        // Outages are reported once by the connection watcher; one line per retry would drown the log.
        const connectionLost = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection is closed/.test(err.message);
        this.#logger.log(connectionLost ? 'debug' : 'warn', `BullMQ worker error: ${coerceError(err).message}`);
      });
      this.#worker = worker;
      await worker.waitUntilReady();
      if (this.#state === 'starting') this.#setState('ready');
    } catch (err) {
      const message = coerceError(err).message;
      this.#logger.error(`Worker '${this.name}' could not start: ${message}`);
      if (this.#state !== 'closed' && this.#state !== 'draining') this.#setState('draining');
      await this.#cleanup(true);
      throw new Error(`starting ${this.name} failed: ${message}`, { cause: err });
    }
  }

  #shutdown(force: boolean): Promise<void> {
    // A forced close after a graceful one needs nothing more: the abort above ends the job quickly.
    return (this.#stopping ??= this.#doShutdown(force));
  }

  async #doShutdown(force: boolean): Promise<void> {
    // Let a start in progress finish creating what it creates, so it is closed below.
    await this.#starting?.catch(() => undefined);
    await this.#cleanup(force);
  }

  /** Closes the Worker, then the browser, then the Redis connections; each step on its own. */
  #cleanup(force: boolean): Promise<void> {
    return (this.#cleaning ??= this.#doCleanup(force));
  }

  async #doCleanup(force: boolean): Promise<void> {
    try {
      await this.#worker?.close(force || this.#forced);
    } catch (err) {
      this.#logger.warn(`Closing the BullMQ worker failed: ${coerceError(err).message}`);
    }
    try {
      await this.#session?.close();
    } catch (err) {
      this.#logger.warn(`Closing the browser failed: ${coerceError(err).message}`);
    }
    if (this.#session) {
      this.#options.onBrowserMemory?.({ queue: this.#options.queue.name, worker: this.name, memory: undefined });
    }
    for (const connection of [this.#bullConnection, this.#results]) {
      try {
        await connection?.quit();
      } catch {
        connection?.disconnect();
      }
    }
    if (this.#state !== 'closed') this.#setState('closed');
  }

  #setState(to: UnitState): void {
    const from = this.#state;
    if (from === to) return;
    assertTransition(this.name, from, to);
    this.#state = to;
    this.#logger.debug(`Worker '${this.name}' ${from} → ${to}`);
    this.#options.onStateChange?.(this, from, to);
  }

  async #process(job: Job, _token?: string, bullSignal?: AbortSignal): Promise<unknown> {
    const { queue, flow } = this.#options;
    const jobId = job.id ?? 'unknown';
    const attempt = job.attemptsMade + 1;
    const maxAttempts = Math.max(1, job.opts.attempts ?? 1);
    const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as Record<string, unknown>;
    const logger = this.#logger.child({ jobId });
    const startedAtMs = Date.now();
    const deadlineMs = deadlineOf(data);
    if (deadlineMs !== undefined && startedAtMs > deadlineMs) {
      return this.#expire(job, { data, jobId, startedAtMs, deadlineMs, attempt, maxAttempts, logger });
    }
    if (this.#state === 'ready') this.#setState('busy');

    const controller = new AbortController();
    this.#current = controller;
    if (this.#forced) controller.abort(new Error(`worker ${this.name} was forced to close`));
    const onBullAbort = (): void => controller.abort(coerceError(bullSignal?.reason ?? 'job cancelled'));
    bullSignal?.addEventListener('abort', onBullAbort, { once: true });
    const timeoutMs = queue.timeoutSeconds * 1000;
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    const crashesBefore = this.#session?.crashes ?? 0;
    let page: Page | null = null;
    const entryBase = { data, jobId, queue: queue.name, worker: this.name, attempts: attempt, startedAtMs };

    try {
      try {
        page = this.#session ? await untilAborted(this.#session.page(), controller.signal) : null;
        const ctx: FlowContext = {
          page,
          data,
          portal: this.#options.portal,
          logger,
          signal: controller.signal,
          artifactsDir: path.join(this.#options.artifactsDir, fileSafe(queue.name)),
          jobId: fileSafe(jobId),
        };
        const result = await untilAborted(flow.run(ctx), controller.signal);
        const finishedAtMs = Date.now();
        await this.#pushEntry({ ...entryBase, finishedAtMs, outcome: { status: 'ok', result } });
        this.#finished('ok', finishedAtMs - startedAtMs);
        logger.info(`Job done in ${finishedAtMs - startedAtMs} ms (attempt ${attempt}/${maxAttempts})`);
        return result;
      } catch (thrown) {
        throw await this.#failAttempt(job, thrown, {
          signal: controller.signal,
          crashesBefore,
          page,
          attempt,
          maxAttempts,
          entryBase,
          logger,
        });
      }
    } finally {
      clearTimeout(timer);
      bullSignal?.removeEventListener('abort', onBullAbort);
      this.#current = undefined;
      this.#session?.afterJob();
      if (this.#state === 'busy') this.#setState('ready');
    }
  }

  /**
   * The deadline passed before this attempt could start: the flow is not run, the job completes
   * with an `expired` result entry (CONTRACT.md). A retry that comes due after the deadline ends
   * here too, with the previous attempt's error in the reason.
   */
  async #expire(
    job: Job,
    ctx: {
      data: Record<string, unknown>;
      jobId: string;
      startedAtMs: number;
      deadlineMs: number;
      attempt: number;
      maxAttempts: number;
      logger: Logger;
    },
  ): Promise<{ expired: true; reason: string }> {
    const deadline = new Date(ctx.deadlineMs).toISOString();
    const late = Math.round((ctx.startedAtMs - ctx.deadlineMs) / 1000);
    const previous = ctx.attempt > 1 && job.failedReason ? `; última falha: ${job.failedReason}` : '';
    const reason =
      ctx.attempt > 1
        ? `prazo ${deadline} passou antes da tentativa ${ctx.attempt}/${ctx.maxAttempts} (${late}s de atraso)${previous}`
        : `prazo ${deadline} passou antes do início (${late}s de atraso); não executado`;
    await this.#pushEntry({
      data: ctx.data,
      jobId: ctx.jobId,
      queue: this.#options.queue.name,
      worker: this.name,
      attempts: ctx.attempt - 1,
      startedAtMs: ctx.startedAtMs,
      finishedAtMs: ctx.startedAtMs,
      outcome: { status: 'expired', reason },
    });
    ctx.logger.warn(`Job expirado: ${reason}`);
    await job.log(`expirado: ${reason}`).catch(() => undefined);
    this.#finished('expired', 0);
    return { expired: true, reason };
  }

  /** Classifies the failure, saves artifacts, writes the error entry on the last attempt; returns what to throw. */
  async #failAttempt(
    job: Job,
    thrown: unknown,
    ctx: {
      signal: AbortSignal;
      crashesBefore: number;
      page: Page | null;
      attempt: number;
      maxAttempts: number;
      entryBase: Omit<ResultEntryInput, 'finishedAtMs' | 'outcome'>;
      logger: Logger;
    },
  ): Promise<Error> {
    const error = this.#classify(thrown, ctx.signal, ctx.crashesBefore);
    const permanent = error instanceof PermanentJobError;
    const last = permanent || ctx.attempt >= ctx.maxAttempts;
    let artifacts: FailureArtifacts | undefined;
    if (this.#session && !this.#forced) {
      artifacts = await captureFailureArtifacts({
        page: error instanceof BrowserCrashedError ? null : ctx.page,
        artifactsDir: this.#options.artifactsDir,
        queue: this.#options.queue.name,
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
        await this.#session.resetPage().catch((err: unknown) => {
          ctx.logger.warn(`Could not reopen the page after a timeout: ${coerceError(err).message}`);
        });
      }
    }
    const finishedAtMs = Date.now();
    if (last) {
      try {
        await this.#pushEntry({
          ...ctx.entryBase,
          finishedAtMs,
          outcome: { status: 'error', error, permanent, ...(artifacts ? { artifacts } : {}) },
        });
      } catch (err) {
        ctx.logger.error(`Could not write the error result entry: ${coerceError(err).message}`);
      }
    }
    this.#finished(last ? 'error' : 'retry', finishedAtMs - ctx.entryBase.startedAtMs);
    const where = artifacts ? ` [screenshot: ${artifacts.screenshot ?? 'none'}; url: ${artifacts.url ?? 'none'}]` : '';
    const verdict = permanent ? 'failed permanently' : last ? 'failed on its last attempt' : 'failed; will retry';
    ctx.logger[last ? 'error' : 'warn'](
      `Job ${verdict} (attempt ${ctx.attempt}/${ctx.maxAttempts}): ${error.name}: ${error.message}${where}`,
    );
    if (artifacts) await job.log(`attempt ${ctx.attempt}: ${error.message}${where}`).catch(() => undefined);
    if (permanent) return new UnrecoverableError(`${error.message}${where}`);
    error.message = `${error.message}${where}`;
    return error;
  }

  #classify(thrown: unknown, signal: AbortSignal, crashesBefore: number): Error {
    const error = coerceError(thrown);
    if (signal.aborted) return coerceError(signal.reason);
    if (error instanceof PermanentJobError || error instanceof BrowserCrashedError) return error;
    const session = this.#session;
    if (session && (session.crashes !== crashesBefore || !session.healthy || TARGET_GONE.test(error.message))) {
      return new BrowserCrashedError(`the browser crashed or disconnected during the job: ${error.message}`, {
        cause: error,
      });
    }
    return error;
  }

  async #pushEntry(input: ResultEntryInput): Promise<void> {
    const redis = this.#results;
    if (!redis) throw new Error(`${this.name} has no Redis connection for results`);
    await redis.rpush(this.#options.queue.resultList, JSON.stringify(buildResultEntry(input)));
  }

  #finished(outcome: 'ok' | 'error' | 'retry' | 'expired', durationMs: number): void {
    try {
      this.#options.onJobFinished?.({ queue: this.#options.queue.name, worker: this.name, outcome, durationMs });
    } catch (err) {
      this.#logger.warn(`onJobFinished hook threw: ${coerceError(err).message}`);
    }
  }
}
