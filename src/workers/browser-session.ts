import { chromium, type Browser, type BrowserContext, type Page } from 'playwright';
import type { BrowserConfig } from '../config/types.js';
import { coerceError } from '../lib/errors.js';
import { withTimeout } from '../lib/with-timeout.js';
import type { Logger } from '../logging/logger.js';
import { launchOptionsFor } from './browser-launch.js';
import { browserPidOf, collectPageGarbage } from './chromium-cdp.js';
import { killTree, processStartTime, treeMemory, type TreeMemory } from './process-tree.js';

/**
 * Why a browser was relaunched (the `reason` label of `rpa_browser_restarts_total`): it crashed or
 * disconnected, it ran `recycleAfterJobs` jobs, its process tree passed `maxMemoryMb`, or its page
 * would not close.
 */
export const RESTART_REASONS = ['crash', 'jobs', 'memory', 'unresponsive'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/** Options for {@link BrowserSession}. */
export interface BrowserSessionOptions {
  readonly browser: BrowserConfig;
  readonly logger: Logger;
  /** Default timeout of every Playwright action and navigation on the page. @defaultValue 30_000 */
  readonly actionTimeoutMs?: number;
  /** Opening a context or page, or closing the browser, gives up after this long. @defaultValue 15_000 */
  readonly operationTimeoutMs?: number;
  /** Called whenever the browser is relaunched: why, and the details logged with it. */
  readonly onRestart?: (reason: RestartReason, detail: string) => void;
  /** Called after each memory check between jobs, with the browser's process tree measure. */
  readonly onMemory?: (memory: TreeMemory) => void;
}

/**
 * One Chromium with one context and one page, kept across jobs so the portal session survives.
 * Relaunches the browser when it crashes or disconnects, and recycles it after a number of jobs
 * or when the memory of its whole process tree passes a bound, always between jobs. Every
 * `collectGarbageEveryJobs` jobs the page's renderer runs a full garbage collection: V8 otherwise
 * lets the garbage of every navigation (Playwright's injected scripts, old documents) pile up,
 * about 3 MB per conferência job. Launches, closes and these checks run one after another.
 */
export class BrowserSession {
  readonly #options: BrowserSessionOptions;
  readonly #expectedClose = new WeakSet<Browser>();
  #browser: Browser | undefined;
  #browserPid: number | undefined;
  #browserStartTime: number | undefined;
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

  /**
   * Pid of the current browser's main process (as Chromium reports it, not the /bin/sh wrapper
   * some distributions install); its descendants are the browser's other processes.
   */
  get browserPid(): number | undefined {
    return this.#browserPid;
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
      await this.#relaunch(
        'crash',
        this.#browser ? 'o navegador caiu ou se desconectou' : 'nenhum navegador em execução (o lançamento falhou)',
      );
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
          this.#markRestart('unresponsive', `a página não fechou (${coerceError(err).message})`);
          await this.#replaceBrowser('unresponsive');
          return;
        }
      }
      if (this.#browser?.isConnected()) await this.#openPage();
    });
  }

  /**
   * Counts a finished job and queues the between-jobs upkeep: a garbage collection every
   * `collectGarbageEveryJobs` jobs, a measure of the process tree every `memoryCheckEveryJobs`
   * jobs, and a relaunch when the browser is due for recycling (job count, or its tree over
   * `maxMemoryMb`). The next {@link page} call waits for it.
   */
  afterJob(): void {
    if (this.#closed) return;
    this.#jobsSinceLaunch += 1;
    void this.#enqueue(() => this.#upkeep()).catch(() => undefined);
  }

  /** Memory of the current browser's whole process tree; undefined while no browser runs. */
  async memory(): Promise<TreeMemory | undefined> {
    const pid = this.#browserPid;
    if (pid === undefined) return undefined;
    const measured = await treeMemory(pid);
    return measured.processes > 0 ? measured : undefined;
  }

  /** Closes the browser (killed if it does not close in time; at once with `kill`); idempotent. */
  close(kill = false): Promise<void> {
    this.#closed = true;
    if (kill) this.#killLeftovers(); // a forced unit must not wait on its browser
    return (this.#closing ??= this.#enqueue(async () => {
      const browser = this.#browser;
      this.#browser = undefined;
      this.#context = undefined;
      this.#page = undefined;
      if (browser) await this.#closeBrowser(browser);
      this.#killLeftovers();
      this.#browserPid = undefined;
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

  /** Between jobs: collect garbage when due, then recycle by job count or by memory. */
  async #upkeep(): Promise<void> {
    if (this.#closed || !this.#browser?.isConnected()) return;
    const { recycleAfterJobs, maxMemoryMb, collectGarbageEveryJobs, memoryCheckEveryJobs } = this.#options.browser;
    if (recycleAfterJobs > 0 && this.#jobsSinceLaunch >= recycleAfterJobs) {
      this.#markRestart('jobs', `reciclado após ${this.#jobsSinceLaunch} jobs`);
      await this.#replaceBrowser('jobs');
      return;
    }
    if (collectGarbageEveryJobs > 0 && this.#jobsSinceLaunch % collectGarbageEveryJobs === 0) {
      await this.#collectGarbage();
    }
    if (memoryCheckEveryJobs <= 0 || this.#jobsSinceLaunch % memoryCheckEveryJobs !== 0) return;
    const memory = await this.memory();
    if (!memory) return;
    this.#options.onMemory?.(memory);
    if (maxMemoryMb > 0 && memory.pssMb > maxMemoryMb) {
      this.#markRestart(
        'memory',
        `memória ${memory.pssMb} MB acima do limite de ${maxMemoryMb} MB ` +
          `(PSS de ${memory.processes} processos, após ${this.#jobsSinceLaunch} jobs)`,
      );
      await this.#replaceBrowser('memory');
    }
  }

  /** A full V8 garbage collection in the page's renderer; a failure only costs memory. */
  async #collectGarbage(): Promise<void> {
    const page = this.#page;
    const context = this.#context;
    if (!page || !context || page.isClosed() || this.#pageCrashed) return;
    try {
      await withTimeout(collectPageGarbage(context, page), this.#operationTimeoutMs, 'collecting garbage in the page');
    } catch (err) {
      this.#options.logger.debug(`A coleta de lixo na página falhou: ${coerceError(err).message}`);
    }
  }

  /** Logs and reports a relaunch; marks the browser so its coming 'disconnected' is not a crash. */
  #markRestart(reason: RestartReason, detail: string): void {
    if (this.#browser) this.#expectedClose.add(this.#browser);
    this.#options.logger.warn(`Reiniciando o navegador (${reason}): ${detail}`);
    this.#options.onRestart?.(reason, detail);
  }

  #relaunch(reason: RestartReason, detail: string): Promise<void> {
    // Mark now, not when the queued step runs, so this browser's late 'disconnected' is not a crash.
    this.#markRestart(reason, detail);
    return this.#enqueue(() => this.#replaceBrowser(reason));
  }

  async #replaceBrowser(reason: RestartReason): Promise<void> {
    const old = this.#browser;
    this.#browser = undefined;
    this.#context = undefined;
    this.#page = undefined;
    if (old) await this.#closeBrowser(old);
    this.#browserPid = undefined;
    if (this.#closed) return;
    this.#options.logger.debug(`Abrindo um novo navegador (${reason})`);
    await this.#launch();
  }

  async #launch(): Promise<void> {
    if (this.#closed) return;
    const browser = await chromium.launch(launchOptionsFor(this.#options.browser));
    this.#launches += 1;
    this.#jobsSinceLaunch = 0;
    browser.on('disconnected', () => this.#onDisconnected(browser));
    this.#browser = browser;
    try {
      this.#browserPid = await withTimeout(
        browserPidOf(browser),
        this.#operationTimeoutMs,
        'asking the browser its pid',
      );
      this.#browserStartTime = processStartTime(this.#browserPid);
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
        this.#options.logger.warn('A página caiu; uma nova será aberta para o próximo job');
      }
    });
    this.#page = page;
  }

  #onDisconnected(browser: Browser): void {
    if (this.#expectedClose.has(browser) || this.#closed || browser !== this.#browser) return;
    this.#crashes += 1;
    this.#relaunch('crash', 'o navegador caiu ou se desconectou').catch((err: unknown) => {
      this.#options.logger.error(`Falha ao reabrir o navegador: ${coerceError(err).message}`);
    });
  }

  async #closeBrowser(browser: Browser): Promise<void> {
    this.#expectedClose.add(browser);
    try {
      await withTimeout(browser.close(), this.#operationTimeoutMs, 'closing the browser');
    } catch (err) {
      this.#options.logger.warn(`O navegador não fechou (${coerceError(err).message}); encerrando seus processos`);
      this.#killLeftovers();
    }
  }

  /** SIGKILLs what is left of the current browser's process tree (a browser that would not close). */
  #killLeftovers(): void {
    if (this.#browserPid !== undefined) killTree(this.#browserPid, this.#browserStartTime);
  }
}
