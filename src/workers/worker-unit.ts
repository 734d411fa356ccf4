import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BrowserConfig, QueueConfig, RedisConfig } from '../config/types.js';
import type { Flow, PortalCredentials } from '../flows/flow.js';
import { coerceError } from '../lib/errors.js';
import { untilAborted } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { createRedis } from '../redis/connection.js';
import type { ReplicaWait } from '../redis/replica-wait.js';
import { fileSafe } from './artifacts.js';
import { expireIfLate, runAttempt, settleIfRecorded, type AttemptOutcome } from './attempt.js';
import { BrowserSession, type RestartReason } from './browser-session.js';
import type { TreeMemory } from './process-tree.js';
import { CompletedJobIds } from './completed-ids.js';
import { completedJobAgeSeconds, type Retention } from './job-options.js';
import { ResultWriter } from './result-writer.js';
import { assertTransition, unitName, type UnitState } from './unit-state.js';

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
  /** The unit logs through a child of this with `worker: <name>`. */
  readonly logger: Logger;
  /** The duplicate window after a job completed (`jobs.keepCompletedSeconds`). */
  readonly keepCompletedSeconds: number;
  /** The whole completed job is kept this long; past it only its id (`completed-ids.ts`). @defaultValue keepCompletedSeconds */
  readonly keepCompletedJobSeconds?: number;
  readonly keepFailedSeconds: number;
  /** BullMQ job lock: a job whose process died is judged stalled after this. @defaultValue 30000 */
  readonly lockDurationMs?: number;
  /** How often this Worker looks for stalled jobs. @defaultValue 30000 */
  readonly stalledIntervalMs?: number;
  /** Result entries wait for Redis replicas (WAIT) before the job completes. @defaultValue none */
  readonly replicaWait?: ReplicaWait;
  /** Times a job may stall before BullMQ fails it. @defaultValue 2 */
  readonly maxStalledCount?: number;
  readonly onJobFinished?: (info: {
    queue: string;
    worker: string;
    outcome: AttemptOutcome;
    durationMs: number;
  }) => void;
  /**
   * Waits for this unit's turn to launch its browser (the instance paces launches: a burst's first
   * units work while the rest launch); resolves with the turn's release, or undefined when the
   * unit is retired first (it then never launches). Absent: launch at once.
   */
  readonly launchTurn?: (signal: AbortSignal) => Promise<(() => void) | undefined>;
  /** The browser was relaunched (crash, recycle by jobs or memory, page that would not close). */
  readonly onBrowserRestart?: (info: { queue: string; worker: string; reason: RestartReason; detail: string }) => void;
  /**
   * The browser's whole process tree was measured (between jobs); `memory` is undefined once the
   * unit has closed its browser.
   */
  readonly onBrowserMemory?: (info: { queue: string; worker: string; memory: TreeMemory | undefined }) => void;
}

export interface WorkerUnitEvents {
  state: [to: UnitState, from: UnitState];
}

/**
 * One BullMQ Worker (concurrency 1) plus, when its flow needs one, one Chromium launched before
 * the first job, with one context and page kept across jobs. Owns only its life cycle; each job
 * runs through {@link runAttempt}. Never interrupts a running job unless forced.
 */
export class WorkerUnit extends EventEmitter<WorkerUnitEvents> {
  readonly name: string;
  readonly #options: WorkerUnitOptions;
  readonly #logger: Logger;
  /** Aborted by {@link forceClose}: the running attempt stops, closing does not wait for it. */
  readonly #force = new AbortController();
  /** Aborted once the unit drains: a launch it still waits a turn for is given up. */
  readonly #retired = new AbortController();
  #state: UnitState = 'starting';
  /** A job's attempt is running; it may have started before the Worker's readiness was seen. */
  #inAttempt = false;
  #session: BrowserSession | undefined;
  #worker: Worker | undefined;
  #connections: Redis[] = [];
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #cleaning: Promise<void> | undefined;

  constructor(options: WorkerUnitOptions) {
    super();
    this.#options = options;
    this.name = unitName(options.queue.name, options.index);
    this.#logger = options.logger.child({ worker: this.name });
  }

  get state(): UnitState {
    return this.#state;
  }

  /** Pid of its browser's main process while one runs (the capacity monitor measures its tree's CPU). */
  get browserPid(): number | undefined {
    return this.#session?.browserPid;
  }

  /** Launches the browser if the flow needs one, then creates the BullMQ Worker; resolves when ready. */
  start(): Promise<void> {
    return (this.#starting ??= this.#doStart());
  }

  /** Takes no new job, lets the current one finish, closes the Worker then the browser. Idempotent. */
  retire(): Promise<void> {
    this.#enterDraining();
    return (this.#closing ??= this.#close());
  }

  /**
   * Aborts the running flow through its signal and closes the Worker without waiting (its job
   * returns to waiting after the stalled check). Also ends a {@link retire} under way. Idempotent.
   */
  forceClose(): Promise<void> {
    this.#enterDraining();
    if (!this.#force.signal.aborted) {
      this.#force.abort(new Error(`worker ${this.name} was forced to close`));
      // A graceful close already under way waits on Redis for the job's completion; with Redis
      // unreachable that wait never ends. Dropping the socket ends it: the job stays active and
      // the stalled check returns it to waiting once Redis is back.
      const bull = this.#connections[0];
      if (this.#closing && bull && bull.status !== 'ready') bull.disconnect();
      // The browser tree is killed now, whatever the Worker still waits for.
      void this.#session?.close(true).catch(() => undefined);
    }
    return (this.#closing ??= this.#close());
  }

  async #doStart(): Promise<void> {
    const { queue, flow } = this.#options;
    try {
      // FlowContext.artifactsDir promises flows an existing folder.
      await fs.mkdir(path.join(this.#options.artifactsDir, fileSafe(queue.name)), { recursive: true });
      // The launch turn is held until the unit is ready (or gave up): until then the queue's next
      // unit sees neither a launch under way nor a unit at work.
      let release: (() => void) | undefined = () => {};
      if (flow.needsBrowser && this.#options.launchTurn) release = await this.#options.launchTurn(this.#retired.signal);
      if (!release || this.#state !== 'starting') {
        release?.();
        return; // retired while it waited for its turn: nothing was launched
      }
      try {
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
        // Retired while its Worker connects (which waits as long as Redis is unreachable): the turn goes back then.
        this.#retired.signal.addEventListener('abort', release, { once: true });
        this.#worker = this.#createWorker();
        await this.#worker.waitUntilReady();
        if (this.#state === 'starting') {
          this.#setState('ready');
          // The Worker runs from its creation: its first job may have started before this line.
          if (this.#inAttempt) this.#setState('busy');
        }
      } finally {
        this.#retired.signal.removeEventListener('abort', release);
        release();
      }
    } catch (err) {
      const message = coerceError(err).message;
      this.#logger.error(`Worker '${this.name}' não pôde iniciar: ${message}`);
      this.#enterDraining();
      await this.#cleanup();
      throw new Error(`starting ${this.name} failed: ${message}`, { cause: err });
    }
  }

  #createWorker(): Worker {
    const { queue, redis } = this.#options;
    const bull = createRedis(redis, 'blocking', this.#logger, this.name);
    const results = createRedis(redis, 'command', this.#logger, `${this.name}-results`);
    this.#connections = [bull, results];
    const retention: Retention = {
      keepCompletedSeconds: this.#options.keepCompletedSeconds,
      keepCompletedJobSeconds: this.#options.keepCompletedJobSeconds ?? this.#options.keepCompletedSeconds,
      keepFailedSeconds: this.#options.keepFailedSeconds,
    };
    const completedIds = new CompletedJobIds(results, { prefix: redis.prefix, queue: queue.name, retention });
    const deps = {
      queue,
      flow: this.#options.flow,
      portal: this.#options.portal,
      artifactsDir: this.#options.artifactsDir,
      worker: this.name,
      session: this.#session,
      results: new ResultWriter({
        redis: results,
        prefix: redis.prefix,
        resultList: queue.resultList,
        markerTtlSeconds: retention.keepCompletedJobSeconds,
        logger: this.#logger,
        replicas: this.#options.replicaWait,
      }),
      logger: this.#logger,
      forced: this.#force.signal,
      onFinished: (outcome: AttemptOutcome, durationMs: number) =>
        this.#options.onJobFinished?.({ queue: queue.name, worker: this.name, outcome, durationMs }),
    };
    const worker = new Worker(
      queue.name,
      async (job, _token, signal) => {
        try {
          // A run whose entry is already written is settled with it, never run again.
          const recorded = await settleIfRecorded(deps, job);
          if (recorded) {
            await this.#rememberCompleted(completedIds, job.id);
            return recorded.value;
          }
          const expired = await expireIfLate(deps, job);
          if (expired) {
            await this.#rememberCompleted(completedIds, job.id);
            return expired;
          }
          this.#inAttempt = true;
          if (this.#state === 'ready') this.#setState('busy');
          const result = await runAttempt(deps, job, signal);
          await this.#rememberCompleted(completedIds, job.id);
          return result;
        } catch (err) {
          // Forced: BullMQ must not move the job (it may be running elsewhere by then); once the
          // Worker is closed it leaves the job active and the stalled check returns it to waiting.
          if (this.#force.signal.aborted) await this.#closing?.catch(() => undefined);
          throw err;
        } finally {
          this.#inAttempt = false;
          if (this.#state === 'busy') this.#setState('ready');
        }
      },
      {
        connection: bull,
        prefix: redis.prefix,
        concurrency: 1,
        name: this.name,
        autorun: true,
        removeOnComplete: { age: completedJobAgeSeconds(retention) },
        removeOnFail: { age: this.#options.keepFailedSeconds },
        lockDuration: this.#options.lockDurationMs ?? 30_000,
        stalledInterval: this.#options.stalledIntervalMs ?? 30_000,
        maxStalledCount: this.#options.maxStalledCount ?? 2,
        // BullMQ keeps the limiter in Redis: it holds across every worker and instance of the queue.
        ...(queue.rateLimit ? { limiter: { max: queue.rateLimit.max, duration: queue.rateLimit.durationMs } } : {}),
      },
    );
    worker.on('error', (err) => {
      // Outages are reported once by the connection watcher; one line per retry would drown the log.
      const connectionLost = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection is closed/.test(err.message);
      this.#logger.log(connectionLost ? 'debug' : 'warn', `BullMQ worker error: ${coerceError(err).message}`);
    });
    return worker;
  }

  /**
   * The job is about to complete: its id is recorded first, so it stays a duplicate for the whole
   * window after BullMQ drops the whole job. A failure is logged, not thrown: failing the job
   * would run the flow again, a worse outcome than a late duplicate not being caught.
   */
  async #rememberCompleted(completedIds: CompletedJobIds, jobId: string | undefined): Promise<void> {
    if (jobId === undefined || !completedIds.enabled) return;
    try {
      await completedIds.record(jobId);
    } catch (err) {
      this.#logger.error(
        `id do job não registrado para detectar duplicatas depois que o job for removido: ${coerceError(err).message}`,
        { jobId },
      );
    }
  }

  async #close(): Promise<void> {
    // Let a start in progress finish creating what it creates, so it is closed below; forced, not
    // longer (the start may wait on an unreachable Redis): what it created so far is closed now.
    await untilAborted(this.#starting ?? Promise.resolve(), this.#force.signal).catch(() => undefined);
    await this.#cleanup();
  }

  /** Closes the Worker, then the browser, then the Redis connections; each step on its own. Once. */
  #cleanup(): Promise<void> {
    return (this.#cleaning ??= this.#doCleanup());
  }

  async #doCleanup(): Promise<void> {
    try {
      await this.#worker?.close(this.#force.signal.aborted);
    } catch (err) {
      this.#logger.warn(`Falha ao fechar o worker BullMQ: ${coerceError(err).message}`);
    }
    try {
      await this.#session?.close();
    } catch (err) {
      this.#logger.warn(`Falha ao fechar o navegador: ${coerceError(err).message}`);
    }
    if (this.#session) {
      this.#options.onBrowserMemory?.({ queue: this.#options.queue.name, worker: this.name, memory: undefined });
    }
    for (const connection of this.#connections) {
      // Forced: QUIT would wait on an unreachable Redis, and nothing queued may reach it later.
      if (this.#force.signal.aborted) connection.disconnect();
      else await connection.quit().catch(() => connection.disconnect());
    }
    if (this.#state !== 'closed') this.#setState('closed');
  }

  #enterDraining(): void {
    if (this.#state !== 'closed' && this.#state !== 'draining') this.#setState('draining');
    this.#retired.abort();
  }

  #setState(to: UnitState): void {
    const from = this.#state;
    if (from === to) return;
    assertTransition(this.name, from, to);
    this.#state = to;
    this.#logger.debug(`Worker '${this.name}' ${from} → ${to}`);
    this.emit('state', to, from);
  }
}
