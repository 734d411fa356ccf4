import fs from 'node:fs/promises';
import path from 'node:path';
import type { CDPSession, Page } from 'playwright';
import { coerceError } from '../lib/errors.js';
import { safeFileName, uniqueFileStem } from '../lib/file-name.js';
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

/**
 * The stem of every file named after job `jobId` (attempt artifacts, a flow's receipts): readable
 * and carrying a hash of the whole id ({@link uniqueFileStem}), so no two jobs share a file.
 */
export function jobFileStem(jobId: string): string {
  return uniqueFileStem(jobId);
}

/** `<artifactsDir>/<queue>/<job stem>-attempt<k>` (extension added by the caller). */
export function artifactBase(artifactsDir: string, queue: string, jobId: string, attempt: number): string {
  return path.join(artifactsDir, fileSafe(queue), `${jobFileStem(jobId)}-attempt${attempt}`);
}

/** Extensions of what {@link captureFailureArtifacts} writes. */
export type ArtifactKind = 'png' | 'json';

/** Attempts whose files are looked up for one job at most (a job is never retried this often). */
const MAX_ATTEMPT_FILES = 100;

const MENTIONED_PATH = /[^\s"'[\];,()<>]+\.(?:png|json)\b/g;

/**
 * The files the attempts of job `jobId` of `queue` left, as paths relative to `artifactsDir`,
 * matched by the exact id: the names {@link artifactBase} gives (looked up one by one, the folder
 * is never listed), plus files named before ids were hashed (`<id>-attempt<k>`, ambiguous between
 * ids that read alike) only where `mentions` (the job's own failure reason and logs, which name
 * each screenshot taken) names them. Only existing regular files are returned, by attempt.
 */
export async function jobArtifactFiles(input: {
  readonly artifactsDir: string;
  readonly queue: string;
  readonly jobId: string;
  /** Attempts the job made (its files are looked up for 1..attempts+1, the one running included). */
  readonly attempts: number;
  readonly kinds: readonly ArtifactKind[];
  /** Text of the job that names its files (failedReason, logs); never its payload. */
  readonly mentions?: string;
}): Promise<string[]> {
  const root = path.resolve(input.artifactsDir);
  const dir = fileSafe(input.queue);
  const last = Math.min(MAX_ATTEMPT_FILES, Math.max(0, input.attempts) + 1);
  const candidates: string[] = [];
  for (let k = 1; k <= last; k++) {
    for (const kind of input.kinds) candidates.push(path.join(dir, `${jobFileStem(input.jobId)}-attempt${k}.${kind}`));
  }
  const legacy = new RegExp(`^${escapeRegExp(fileSafe(input.jobId))}-attempt\\d+\\.(?:${input.kinds.join('|')})$`);
  for (const rel of mentionedUnder(input.mentions ?? '', root)) {
    if (path.dirname(rel) === dir && legacy.test(path.basename(rel))) candidates.push(rel);
  }
  const found: string[] = [];
  for (const rel of new Set(candidates)) {
    if (await isFile(path.join(root, rel))) found.push(rel);
  }
  const attemptOf = (rel: string): number => Number(/-attempt(\d+)\.[a-z]+$/.exec(rel)?.[1] ?? 0);
  return found.sort((a, b) => attemptOf(a) - attemptOf(b));
}

/** Every `.png`/`.json` path mentioned in `text` that resolves inside `root`, relative to it. */
function mentionedUnder(text: string, root: string): string[] {
  const out = new Set<string>();
  for (const [candidate] of text.matchAll(MENTIONED_PATH)) {
    // Absolute, relative to the working directory (how a relative artifactsDir is written), or relative to root.
    for (const abs of [path.resolve(candidate), path.resolve(root, candidate)]) {
      const rel = path.relative(root, abs);
      if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) {
        out.add(rel);
        break;
      }
    }
  }
  return [...out];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
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
