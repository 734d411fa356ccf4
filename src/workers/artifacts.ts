import fs from 'node:fs/promises';
import path from 'node:path';
import type { CDPSession, Page } from 'playwright';
import { coerceError } from '../lib/errors.js';
import { safeFileName } from '../lib/file-name.js';
import { withTimeout } from '../lib/with-timeout.js';

/** What a failing attempt left behind: the screenshot's path (if one could be taken) and the page URL. */
export interface FailureArtifacts {
  readonly screenshot: string | null;
  readonly url: string | null;
}

/** A job id or queue name made safe for a file name (the one helper: {@link safeFileName}). */
export function fileSafe(value: string): string {
  return safeFileName(value);
}

/** `<artifactsDir>/<queue>/<jobId>-attempt<k>` (extension added by the caller). */
export function artifactBase(artifactsDir: string, queue: string, jobId: string, attempt: number): string {
  return path.join(artifactsDir, fileSafe(queue), `${fileSafe(jobId)}-attempt${attempt}`);
}

/**
 * Saves a screenshot (`.png`) and a note with the URL and the error (`.json`) of a failing
 * attempt. Never throws: a dead page still yields its last URL.
 */
export async function captureFailureArtifacts(input: {
  readonly page: Page | null;
  readonly artifactsDir: string;
  readonly queue: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly error: Error;
  readonly timeoutMs: number;
}): Promise<FailureArtifacts> {
  const base = artifactBase(input.artifactsDir, input.queue, input.jobId, input.attempt);
  const url = safeUrl(input.page);
  let screenshot: string | null = null;
  let screenshotError: string | undefined;
  try {
    await fs.mkdir(path.dirname(base), { recursive: true });
  } catch {
    return { screenshot: null, url };
  }
  if (input.page && !input.page.isClosed()) {
    try {
      await fs.writeFile(`${base}.png`, await screenshotPng(input.page, input.timeoutMs));
      screenshot = `${base}.png`;
    } catch (err) {
      screenshotError = coerceError(err).message;
    }
  }
  const note = {
    jobId: input.jobId,
    queue: input.queue,
    attempt: input.attempt,
    url,
    screenshot,
    ...(screenshotError ? { screenshotError } : {}),
    error: { name: input.error.name, message: input.error.message },
    capturedAt: new Date().toISOString(),
  };
  await fs.writeFile(`${base}.json`, `${JSON.stringify(note, null, 2)}\n`).catch(() => undefined);
  return { screenshot, url };
}

/**
 * Captures the viewport through CDP: unlike `page.screenshot()`, it does not wait for a pending
 * navigation to settle, and a timed-out attempt is usually in the middle of one. Falls back to
 * Playwright's screenshot where CDP is not available.
 */
async function screenshotPng(page: Page, timeoutMs: number): Promise<Buffer> {
  let cdp: CDPSession | undefined;
  try {
    cdp = await withTimeout(page.context().newCDPSession(page), timeoutMs, 'opening a CDP session');
    const shot = await withTimeout(
      cdp.send('Page.captureScreenshot', { format: 'png' }),
      timeoutMs,
      'taking the screenshot',
    );
    return Buffer.from(shot.data, 'base64');
  } catch {
    return withTimeout(page.screenshot({ timeout: timeoutMs }), timeoutMs + 1000, 'taking the screenshot');
  } finally {
    // Not awaited: detaching waits for a pending navigation to finish (up to the portal's latency).
    if (cdp) void cdp.detach().catch(() => undefined);
  }
}

function safeUrl(page: Page | null): string | null {
  try {
    return page ? page.url() : null;
  } catch {
    return null;
  }
}
