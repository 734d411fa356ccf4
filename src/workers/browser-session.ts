import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright';
import type { BrowserConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { BROWSER_MARKER_ENV, launchOptionsFor } from './browser-launch.js';
import { memoryMbWithEnv, processesWithEnv } from './process-tree.js';

/** Options for {@link BrowserSession}. */
export interface BrowserSessionOptions {
  readonly browser: BrowserConfig;
  readonly logger: Logger;
  /** Default timeout of every Playwright action and navigation on the page. @defaultValue 30_000 */
  readonly actionTimeoutMs?: number;
  /** Opening a context or page, or closing the browser, gives up after this long. @defaultValue 15_000 */
  readonly operationTimeoutMs?: number;
  /** Called whenever the browser is relaunched, with why (`crashed`, `recycled after 50 jobs`, ...). */
  readonly onRestart?: (reason: string) => void;
}

/**
 * One Chromium with one context and one page, kept across jobs so the portal session survives.
 * Relaunches the browser when it crashes or disconnects, and recycles it after a number of jobs
 * or when its memory passes a bound. Launches and closes run one after another.
 */
export class BrowserSession {
  /** Value of `RPA_POOL_BROWSER` in the environment of every process of this session's browsers. */
  readonly marker = randomUUID();
  readonly #options: BrowserSessionOptions;
  readonly #expectedClose = new WeakSet<Browser>();
  #browser: Browser | undefined;
  #context: BrowserContext | undefined;
  #page: Page | undefined;
  #pageCrashed = false;
  #serial: Promise<void> = Promise.resolve();
  #jobsSinceLaunch = 0;
  #crashes = 0;
  #launches = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: BrowserSessionOptions) {
    this.#options = options;
  }

  /** Times the browser died or disconnected without being asked to. */
  get crashes(): number {
    return this.#crashes;
  }

  /** Browsers launched so far (1 after start, +1 per relaunch). */
  get launches(): number {
    return this.#launches;
  }

  /** True while the browser is connected and the page has not crashed. */
  get healthy(): boolean {
    return Boolean(this.#browser?.isConnected()) && !this.#pageCrashed;
  }

  /** Launches the first browser. */
  start(): Promise<void> {
    return this.#enqueue(() => this.#launch());
  }

  /** The page for the next job: waits for a launch in progress, relaunches a dead browser, reopens a closed page. */
  async page(): Promise<Page> {
    await this.#serial;
    if (this.#closed) throw new Error('browser session is closed');
    if (!this.#browser?.isConnected()) {
      if (this.#browser) this.#crashes += 1;
      await this.#relaunch(this.#browser ? 'disconnected' : 'not running');
    }
    if (!this.#page || this.#page.isClosed() || this.#pageCrashed) await this.#enqueue(() => this.#openPage());
    const page = this.#page;
    if (!page) throw new Error('browser session has no page after opening one');
    return page;
  }

  /** Closes the current page (after a timeout or a page crash) and opens a fresh one in the same context. */
  async resetPage(): Promise<void> {
    await this.#enqueue(async () => {
      const page = this.#page;
      this.#page = undefined;
      if (page && !page.isClosed()) {
        try {
          await withTimeout(page.close({ runBeforeUnload: false }), this.#operationTimeoutMs, 'closing the page');
        } catch (err) {
          this.#options.logger.warn(`Page did not close (${coerceError(err).message}); relaunching the browser`);
          await this.#replaceBrowser('page did not close');
          return;
        }
      }
      if (this.#browser?.isConnected()) await this.#openPage();
    });
  }

  /**
   * Counts a finished job and, when the browser is due for recycling (job count or memory),
   * relaunches it in the background; the next {@link page} call waits for it.
   */
  afterJob(): void {
    if (this.#closed) return;
    this.#jobsSinceLaunch += 1;
    const { recycleAfterJobs, maxMemoryMb } = this.#options.browser;
    let reason: string | undefined;
    if (recycleAfterJobs > 0 && this.#jobsSinceLaunch >= recycleAfterJobs) {
      reason = `recycled after ${this.#jobsSinceLaunch} jobs`;
    } else if (maxMemoryMb > 0) {
      const memoryMb = this.memoryMb();
      if (memoryMb > maxMemoryMb) reason = `memory ${memoryMb} MB over ${maxMemoryMb} MB`;
    }
    if (reason) this.#relaunch(reason).catch(() => undefined);
  }

  /** Memory (MB, summed PSS) of every process of the current browser. */
  memoryMb(): number {
    return memoryMbWithEnv(BROWSER_MARKER_ENV, this.marker);
  }

  /** Closes the browser (its processes are killed if it does not close in time); idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return (this.#closing ??= this.#enqueue(async () => {
      const browser = this.#browser;
      this.#browser = undefined;
      this.#context = undefined;
      this.#page = undefined;
      if (browser) await this.#closeBrowser(browser);
      this.#killLeftovers();
    }));
  }

  get #operationTimeoutMs(): number {
    return this.#options.operationTimeoutMs ?? 15_000;
  }

  /** Runs `step` after every step queued before it; a failed step does not block the next. */
  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#serial.then(step);
    this.#serial = run.catch(() => undefined);
    return run;
  }

  #relaunch(reason: string): Promise<void> {
    // Mark now, not when the queued step runs, so this browser's late 'disconnected' is not a crash.
    if (this.#browser) this.#expectedClose.add(this.#browser);
    this.#options.logger.warn(`Relaunching the browser: ${reason}`);
    this.#options.onRestart?.(reason);
    return this.#enqueue(() => this.#replaceBrowser(reason));
  }

  async #replaceBrowser(reason: string): Promise<void> {
    const old = this.#browser;
    this.#browser = undefined;
    this.#context = undefined;
    this.#page = undefined;
    if (old) await this.#closeBrowser(old);
    if (this.#closed) return;
    this.#options.logger.debug(`Launching a new browser (${reason})`);
    await this.#launch();
  }

  async #launch(): Promise<void> {
    if (this.#closed) return;
    const browser = await chromium.launch(launchOptionsFor(this.#options.browser, this.marker));
    this.#launches += 1;
    this.#jobsSinceLaunch = 0;
    browser.on('disconnected', () => this.#onDisconnected(browser));
    this.#browser = browser;
    try {
      this.#context = await withTimeout(
        browser.newContext({ acceptDownloads: true }),
        this.#operationTimeoutMs,
        'opening a context',
      );
      await this.#openPage();
    } catch (err) {
      this.#browser = undefined;
      await this.#closeBrowser(browser);
      throw err;
    }
  }

  async #openPage(): Promise<void> {
    const context = this.#context;
    if (!context) throw new Error('browser session has no context');
    if (this.#page && !this.#page.isClosed()) await this.#page.close().catch(() => undefined);
    const page = await withTimeout(context.newPage(), this.#operationTimeoutMs, 'opening a page');
    page.setDefaultTimeout(this.#options.actionTimeoutMs ?? 30_000);
    page.setDefaultNavigationTimeout(this.#options.actionTimeoutMs ?? 30_000);
    this.#pageCrashed = false;
    page.on('crash', () => {
      if (this.#page === page) {
        this.#pageCrashed = true;
        this.#crashes += 1;
        this.#options.logger.warn('The page crashed; a new one is opened for the next job');
      }
    });
    this.#page = page;
  }

  #onDisconnected(browser: Browser): void {
    if (this.#expectedClose.has(browser) || this.#closed || browser !== this.#browser) return;
    this.#crashes += 1;
    this.#relaunch('crashed').catch((err: unknown) => {
      this.#options.logger.error(`Relaunching the browser failed: ${coerceError(err).message}`);
    });
  }

  async #closeBrowser(browser: Browser): Promise<void> {
    this.#expectedClose.add(browser);
    try {
      await withTimeout(browser.close(), this.#operationTimeoutMs, 'closing the browser');
    } catch (err) {
      this.#options.logger.warn(`Browser did not close cleanly (${coerceError(err).message}); killing its processes`);
      this.#killLeftovers();
    }
  }

  /** SIGKILLs any process still carrying this session's marker (a browser that would not close). */
  #killLeftovers(): void {
    for (const proc of processesWithEnv(BROWSER_MARKER_ENV, this.marker)) {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
