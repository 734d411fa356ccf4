/** Shared set-up for worker integration tests: a demo portal, units on random queues, result reading, cleanup. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { BrowserConfig, QueueConfig } from '../../../src/config/types.js';
import { startPortal, type PortalHandle, type PortalOptions } from '../../../src/demo/portal/server.js';
import { flowForQueue } from '../../../src/flows/registry.js';
import { createLogger } from '../../../src/logging/logger.js';
import type { RestartReason } from '../../../src/workers/browser-session.js';
import { listProcesses, processTree, type TreeMemory } from '../../../src/workers/process-tree.js';
import type { ResultEntry } from '../../../src/workers/result-entry.js';
import type { Page } from 'playwright';
import type { Flow } from '../../../src/flows/flow.js';
import type { UnitState } from '../../../src/workers/unit-state.js';
import { WorkerUnit, type WorkerUnitOptions } from '../../../src/workers/worker-unit.js';
import { findBrowserPid } from '../../helpers/browser-process.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { hasEnv, isChromium } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Every browser these tests launch inherits this variable (Playwright passes `process.env` on).
 * Chromium clears it for its zygotes and their children, so leftovers are also looked for among
 * this process's descendants.
 */
export const SUITE_MARKER_ENV = 'RPA_TEST_SUITE';
/** Also on the browser's command line, for `pgrep -f`. */
export const SUITE_MARKER_ARG_PREFIX = '--rpa-test-suite=';
/** On the command line of one unit's browsers: the test finds that unit's browser from the outside. */
const UNIT_MARKER_ARG_PREFIX = '--rpa-test-unit=';

export interface UnitEvents {
  states: { to: UnitState; at: number }[];
  finished: { outcome: 'ok' | 'error' | 'retry' | 'expired'; durationMs: number }[];
  restarts: { reason: RestartReason; detail: string }[];
  /** Each measure of the browser's process tree, between jobs. */
  memory: TreeMemory[];
  /** The page each job of the unit ran on, in order (`null` for flows without a browser). */
  pages: (Page | null)[];
  /** The browser pid the unit had when each restart was announced (the browser being replaced). */
  replacedPids: (number | undefined)[];
}

export class WorkerFixture {
  readonly marker = randomUUID();
  readonly redisConfig = sharedRedisConfig();
  readonly redis = new Redis({ ...this.redisConfig, maxRetriesPerRequest: 3 });
  readonly logger = createLogger({
    level: process.env.TEST_LOG_LEVEL ?? 'error',
    file: '',
    format: 'text',
    colors: false,
  });
  readonly resultList = uniqueName('results');
  readonly units: WorkerUnit[] = [];
  readonly queues: Queue[] = [];
  readonly queueNames: string[] = [];
  readonly #unitMarkers = new Map<WorkerUnit, string>();
  artifactsDir = '';
  portal!: PortalHandle;

  async setUp(portalOptions: PortalOptions = {}): Promise<void> {
    process.env[SUITE_MARKER_ENV] = this.marker;
    this.artifactsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rpa-artifacts-'));
    this.portal = await startPortal(portalOptions);
  }

  browserConfig(overrides: Partial<BrowserConfig> = {}): BrowserConfig {
    return {
      executablePath: '',
      headless: true,
      args: [`${SUITE_MARKER_ARG_PREFIX}${this.marker}`],
      launchTimeoutMs: 30_000,
      recycleAfterJobs: 0,
      maxMemoryMb: 0,
      collectGarbageEveryJobs: 0,
      memoryCheckEveryJobs: 1,
      ...overrides,
    };
  }

  queueConfig(flow: string, overrides: Partial<QueueConfig> = {}): QueueConfig {
    const name = uniqueName(flow);
    this.queueNames.push(name);
    return {
      name,
      flow,
      sourceList: `fila:${name}`,
      resultList: this.resultList,
      invalidList: `fila:${name}:invalid`,
      jobsPerWorker: 50,
      minWorkers: 0,
      maxWorkers: 1,
      attempts: 3,
      backoffMs: 100,
      timeoutSeconds: 30,
      ...overrides,
    };
  }

  /** Starts a unit for `queue`; records its state changes, finished jobs and browser restarts. */
  async startUnit(
    queue: QueueConfig,
    overrides: Partial<WorkerUnitOptions> = {},
  ): Promise<{ unit: WorkerUnit; events: UnitEvents; jobs: Queue }> {
    const made = this.makeUnit(queue, overrides);
    await made.unit.start();
    return made;
  }

  /** A unit for `queue` as {@link startUnit} makes it, not started yet. */
  makeUnit(
    queue: QueueConfig,
    overrides: Partial<WorkerUnitOptions> = {},
  ): { unit: WorkerUnit; events: UnitEvents; jobs: Queue } {
    const events: UnitEvents = { states: [], finished: [], restarts: [], memory: [], pages: [], replacedPids: [] };
    const flow = overrides.flow ?? flowForQueue(queue);
    // The flow as given, noting the page it runs on (the unit's page is not public).
    const recording: Flow = { ...flow, run: (ctx) => (events.pages.push(ctx.page), flow.run(ctx)) };
    const browser = overrides.browser ?? this.browserConfig();
    const unitMarker = `${UNIT_MARKER_ARG_PREFIX}${randomUUID()}`;
    const unit = new WorkerUnit({
      queue,
      index: 1,
      portal: { url: this.portal.url, user: 'demo', password: 'demo123' },
      redis: this.redisConfig,
      artifactsDir: this.artifactsDir,
      logger: this.logger.child({ queue: queue.name }),
      keepCompletedSeconds: 3600,
      keepFailedSeconds: 3600,
      onJobFinished: (info) => events.finished.push({ outcome: info.outcome, durationMs: info.durationMs }),
      onBrowserRestart: ({ reason, detail }) => {
        events.restarts.push({ reason, detail });
        events.replacedPids.push(this.findBrowserPidOf(unit));
      },
      onBrowserMemory: ({ memory }) => {
        if (memory) events.memory.push(memory);
      },
      ...overrides,
      flow: recording,
      browser: { ...browser, args: [...browser.args, unitMarker] },
    });
    this.#unitMarkers.set(unit, unitMarker);
    unit.on('state', (to) => events.states.push({ to, at: Date.now() }));
    this.units.push(unit);
    const jobs = new Queue(queue.name, { connection: this.redis, prefix: this.redisConfig.prefix });
    this.queues.push(jobs);
    return { unit, events, jobs };
  }

  /** Adds a job with the queue's attempts and exponential backoff, as the bridge does. */
  async addJob(
    jobs: Queue,
    queue: QueueConfig,
    data: Record<string, unknown>,
    extra: JobsOptions = {},
  ): Promise<string> {
    const job = await jobs.add(queue.flow, data, {
      attempts: queue.attempts,
      backoff: { type: 'exponential', delay: queue.backoffMs },
      ...extra,
    });
    if (!job.id) throw new Error('job has no id');
    return job.id;
  }

  async results(): Promise<ResultEntry[]> {
    const raw = await this.redis.lrange(this.resultList, 0, -1);
    return raw.map((line) => JSON.parse(line) as ResultEntry);
  }

  /** Waits for the result entry with `id` and returns it. */
  async resultFor(id: string | number, timeoutMs = 45_000): Promise<ResultEntry> {
    return waitFor(async () => (await this.results()).find((entry) => entry.id === id), {
      timeoutMs,
      what: `result entry ${id}`,
    });
  }

  /**
   * The unit's job outcomes once there are `count` of them: a unit reports a job finished after
   * its result entry lands, so an entry seen does not mean its outcome was reported yet.
   */
  async outcomes(events: UnitEvents, count: number): Promise<UnitEvents['finished'][number]['outcome'][]> {
    await waitFor(() => events.finished.length >= count, { what: `${count} job outcome(s)` });
    return events.finished.map((f) => f.outcome);
  }

  /** Pids of live Chromium processes launched by this test file (any process type). */
  chromiumPids(): number[] {
    const all = listProcesses();
    const descendants = new Set(processTree(process.pid, new Map(all.map((p) => [p.pid, p.ppid]))));
    return all
      .filter(
        (p) =>
          p.pid !== process.pid &&
          isChromium(p.cmdline) &&
          (descendants.has(p.pid) || hasEnv(p.pid, SUITE_MARKER_ENV, this.marker)),
      )
      .map((p) => p.pid);
  }

  /** The pid of `unit`'s live Chromium browser process (not the /bin/sh wrapper, not a helper), if any. */
  findBrowserPidOf(unit: WorkerUnit): number | undefined {
    const marker = this.#unitMarkers.get(unit);
    return marker ? findBrowserPid(marker) : undefined;
  }

  /** Like {@link findBrowserPidOf}, but throws when there is none. */
  browserPidOf(unit: WorkerUnit): number {
    const pid = this.findBrowserPidOf(unit);
    if (!pid) throw new Error(`browser process of ${unit.name} not found`);
    return pid;
  }

  async tearDown(): Promise<void> {
    await Promise.allSettled(this.units.map((u) => u.forceClose()));
    await Promise.allSettled(this.queues.map((q) => q.close()));
    await this.portal?.close();
    for (const name of this.queueNames) {
      await deleteKeys(this.redis, `${this.redisConfig.prefix}:${name}:*`);
      // The service's own keys of the queue: result markers, completed ids, job times.
      await deleteKeys(this.redis, `${this.redisConfig.prefix}:rpa:*:${name}:*`);
    }
    await this.redis.del(this.resultList);
    this.redis.disconnect();
    if (this.artifactsDir) await fs.rm(this.artifactsDir, { recursive: true, force: true });
  }
}
