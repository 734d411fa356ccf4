/**
 * The conferência flow on a page kept between jobs (as a worker unit keeps it), real Chromium
 * against the demo portal: after the first job it searches from the result page it is on (one
 * request to the portal per job), and every job reads its own document's result, also when the
 * session expired in between, after an alert, and after an error page without the form.
 */
import { chromium, type Browser, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookupDocument } from '../../../src/demo/portal/documents.js';
import { conferenciaFlow, type ConferenciaResult } from '../../../src/flows/conferencia.js';
import { PortalUnavailableError } from '../../../src/flows/portal-pages.js';
import { PermanentJobError } from '../../../src/lib/errors.js';
import { launchOptionsFor } from '../../../src/workers/browser-launch.js';
import { WorkerFixture } from '../workers/fixture.js';

const SESSION_MS = 60_000;
const fx = new WorkerFixture();
let now = Date.parse('2026-01-05T12:00:00Z');
let browser: Browser;
let page: Page;
let seq = 0;

function expected(documento: string): ConferenciaResult {
  const found = lookupDocument(documento);
  if (found.kind !== 'found') throw new Error(`test document ${documento} is not known to the portal`);
  return { documento, situacao: found.record.status, atualizadoEm: found.record.updatedOn };
}

/** One job on the kept page: what it returned (or threw) and the requests the portal served meanwhile. */
async function job(documento: string): Promise<{ result?: unknown; error?: unknown; requests: number }> {
  const before = fx.portal.stats.requests;
  seq += 1;
  try {
    const result = await conferenciaFlow.run({
      page,
      data: { documento },
      portal: { url: fx.portal.url, user: 'demo', password: 'demo123' },
      logger: fx.logger,
      signal: new AbortController().signal,
      artifactsDir: fx.artifactsDir,
      jobId: `reuse-${seq}`,
    });
    return { result, requests: fx.portal.stats.requests - before };
  } catch (error) {
    return { error, requests: fx.portal.stats.requests - before };
  }
}

describe('conferência on a kept page', () => {
  beforeAll(async () => {
    await fx.setUp({ sessionLifetimeMs: SESSION_MS, clock: () => now });
    browser = await chromium.launch(launchOptionsFor(fx.browserConfig()));
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await fx.tearDown();
  });

  it('searches from the result page it is on: one request per job, each job its own document', async () => {
    const first = await job('12345');
    expect(first.result).toEqual(expected('12345'));
    // Opening the form (login included) then searching: the first job cannot skip the form.
    expect(first.requests).toBeGreaterThanOrEqual(2);

    const second = await job('9876543');
    expect(second).toEqual({ result: expected('9876543'), requests: 1 });
    const third = await job('12345');
    expect(third).toEqual({ result: expected('12345'), requests: 1 });
    // The same document twice in a row is searched again, not read off the page it is on.
    const again = await job('12345');
    expect(again).toEqual({ result: expected('12345'), requests: 1 });
  });

  it('never reads the previous job’s table while the portal is slow to answer', async () => {
    expect((await job('11112222')).result).toEqual(expected('11112222'));
    fx.portal.setLatencyMs(800);
    try {
      const slow = await job('33334444');
      expect(slow).toEqual({ result: expected('33334444'), requests: 1 });
    } finally {
      fx.portal.setLatencyMs(0);
    }
  });

  it('logs in on the way when the session expired between jobs, and returns this job’s document', async () => {
    expect((await job('5550001')).result).toEqual(expected('5550001'));
    const logins = fx.portal.stats.logins;
    now += SESSION_MS + 1;
    const afterExpiry = await job('5550002');
    expect(afterExpiry.result).toEqual(expected('5550002'));
    expect(fx.portal.stats.logins).toBe(logins + 1);
    // The search (redirected to the login), the login form, the login, the search again.
    expect(afterExpiry.requests).toBe(4);
    expect(new URL(page.url()).searchParams.get('documento')).toBe('5550002');
    expect(await job('5550003')).toEqual({ result: expected('5550003'), requests: 1 });
  });

  it('searches from an alert page that still shows the form (not found)', async () => {
    const missing = await job('40400001');
    expect(missing.error).toBeInstanceOf(PermanentJobError);
    expect(String(missing.error)).toContain('40400001');
    expect(await job('7770001')).toEqual({ result: expected('7770001'), requests: 1 });
  });

  it('opens the form again after an error page that has none', async () => {
    expect((await job('8880001')).result).toEqual(expected('8880001'));
    fx.portal.failNext(1, '/conferencia');
    const failed = await job('8880002');
    expect(failed.error).toBeInstanceOf(PortalUnavailableError);
    expect(await page.getByLabel('Número do documento').count()).toBe(0);
    // The form first (goto), then the search: two requests, and the right document.
    expect(await job('8880002')).toEqual({ result: expected('8880002'), requests: 2 });
    expect(await job('8880003')).toEqual({ result: expected('8880003'), requests: 1 });
  });
});
