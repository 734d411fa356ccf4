/** The two Chrome DevTools Protocol calls the browser session makes. */
import type { Browser, BrowserContext, Page } from 'playwright';

/** The pid of the browser's main process, from Chromium itself (`SystemInfo.getProcessInfo`). */
export async function browserPidOf(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const info = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
    const main = info.processInfo.find((p) => p.type === 'browser');
    if (!main) throw new Error('Chromium reported no browser process');
    return main.id;
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}

/** A full V8 garbage collection in the page's renderer (`HeapProfiler.collectGarbage`). */
export async function collectPageGarbage(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
  } finally {
    await cdp.detach().catch(() => undefined);
  }
}
