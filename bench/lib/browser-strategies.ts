/**
 * How a worker gets a page for a job: keeps its page (what WorkerUnit does), opens a new page per
 * job in a kept context, a new context per job (logs in every time), or launches a new browser
 * per job. Shared by bench/browser-reuse.ts and bench/browser-throughput.ts.
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright';
import type { Logger } from '../../src/logging/logger.js';
import type { BrowserConfig } from '../../src/config/types.js';
import { conferenciaFlow } from '../../src/flows/conferencia.js';
import type { PortalCredentials } from '../../src/flows/flow.js';
import { launchOptionsFor } from '../../src/workers/browser-launch.js';

export type Mode = 'page reused' | 'new page per job' | 'new context per job' | 'new browser per job';

export const MODES: readonly Mode[] = ['page reused', 'new page per job', 'new context per job', 'new browser per job'];

/** How a mode gets a page for a job and what it releases afterwards. */
export interface Strategy {
  pageForJob(): Promise<Page>;
  afterJob(page: Page): Promise<void>;
  close(): Promise<void>;
}

export async function strategyFor(mode: Mode, browserConfig: BrowserConfig): Promise<Strategy> {
  const launch = (): Promise<Browser> => chromium.launch(launchOptionsFor(browserConfig));
  if (mode === 'new browser per job') {
    let browser: Browser | undefined;
    return {
      async pageForJob() {
        browser = await launch();
        return (await browser.newContext()).newPage();
      },
      async afterJob() {
        await browser?.close();
      },
      async close() {
        await browser?.close();
      },
    };
  }
  const browser = await launch();
  if (mode === 'new context per job') {
    let context: BrowserContext | undefined;
    return {
      async pageForJob() {
        context = await browser.newContext();
        return context.newPage();
      },
      async afterJob() {
        await context?.close();
      },
      close: () => browser.close(),
    };
  }
  const context = await browser.newContext();
  if (mode === 'new page per job') {
    return {
      pageForJob: () => context.newPage(),
      afterJob: (page) => page.close(),
      close: () => browser.close(),
    };
  }
  const page = await context.newPage();
  return { pageForJob: () => Promise.resolve(page), afterJob: () => Promise.resolve(), close: () => browser.close() };
}

let documentSeq = 100_000;

/** One conferência job on a page the strategy gives; returns its time in ms. */
export async function runJob(
  strategy: Strategy,
  portal: PortalCredentials,
  logger: Logger,
  artifactsDir: string,
): Promise<number> {
  const started = performance.now();
  const page = await strategy.pageForJob();
  documentSeq += 1;
  await conferenciaFlow.run({
    page,
    data: { documento: String(documentSeq) },
    portal,
    logger,
    signal: new AbortController().signal,
    artifactsDir,
    jobId: `bench-${documentSeq}`,
  });
  await strategy.afterJob(page);
  return performance.now() - started;
}
