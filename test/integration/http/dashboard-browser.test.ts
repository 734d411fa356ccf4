import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer } from '../../../src/http/server.js';
import type { DecisionRecord } from '../../../src/scaler/decision-history.js';
import { ServiceEvents } from '../../../src/service/events.js';
import type { QueueStatus, ServiceStatus, StatusSource } from '../../../src/service/status.js';
import { requiredChromiumArgs, resolveExecutablePath } from '../../../src/workers/browser-launch.js';
import { processesWithEnv } from '../../helpers/processes.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { queueStatus } from '../../helpers/fake-status.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { httpTestConfig } from './fixture.js';

const OUT_DIR = path.resolve('test-output');
const AUTH = { user: 'operador', password: 'painel-secreto' };
const MARKER_ENV = 'RPA_HTTP_TEST_BROWSER';
const redisConfig = sharedRedisConfig();
const connection = { host: redisConfig.host, port: redisConfig.port };
const prefix = uniqueName('dashtest');
const JOBS_PER_WORKER = 50;

/** A status read from the real BullMQ queues: counts, connected workers and their names. */
class QueueBackedStatus implements StatusSource {
  decisions: DecisionRecord[] = [];
  constructor(private readonly queues: readonly Queue[]) {}

  async status(): Promise<ServiceStatus> {
    const queues: QueueStatus[] = await Promise.all(
      this.queues.map(async (q) => {
        const c = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
        const workers = await q.getWorkers();
        // BullMQ keeps the connection name (`...:w:<worker name>`) in `rawname`.
        const workerNames = workers
          .map((w) => /:w:(.+)$/.exec(String((w as { rawname?: string }).rawname ?? ''))?.[1] ?? '')
          .filter(Boolean);
        const pending = (c.waiting ?? 0) + (c.prioritized ?? 0);
        return queueStatus(q.name, {
          pending,
          waiting: c.waiting ?? 0,
          active: c.active ?? 0,
          delayed: c.delayed ?? 0,
          failed: c.failed ?? 0,
          completed: c.completed ?? 0,
          workers: workerNames.length,
          busy: c.active ?? 0,
          desired: Math.min(10, Math.ceil(pending / JOBS_PER_WORKER)),
          maxWorkers: 10,
          jobsPerWorker: JOBS_PER_WORKER,
          workerNames,
        });
      }),
    );
    return {
      at: new Date().toISOString(),
      redis: 'up',
      queues,
      totalWorkers: queues.reduce((s, q) => s + q.workers, 0),
      maxTotalWorkers: 20,
      recentDecisions: [...this.decisions].reverse(),
    };
  }

  decisionsSince(sinceMs: number): Promise<DecisionRecord[]> {
    return Promise.resolve(this.decisions.filter((d) => d.at >= sinceMs));
  }

  redisReady(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

describe('dashboard and Bull Board in Chromium', () => {
  const marker = randomUUID();
  const events = new ServiceEvents();
  let redis: Redis;
  let artifactsDir: string;
  let conferencia: Queue;
  let emissao: Queue;
  const workers: Worker[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let server: HttpServer;
  let url: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    await fs.mkdir(OUT_DIR, { recursive: true });
    redis = new Redis(connection);
    artifactsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'dash-artifacts-'));
    conferencia = new Queue('conferencia', { connection, prefix });
    emissao = new Queue('emissao', { connection, prefix });

    // emissao: one job that fails with a screenshot, then two that wait on the gate.
    await emissao.add('emissao', { fail: true }, { attempts: 1 });
    for (const q of [conferencia, emissao]) {
      const worker = new Worker(
        q.name,
        async (job) => {
          if ((job.data as { fail?: boolean }).fail) {
            const file = path.join(artifactsDir, q.name, `${job.id}-attempt1.png`);
            await fs.mkdir(path.dirname(file), { recursive: true });
            await fs.writeFile(file, Buffer.from('89504e470d0a1a0a', 'hex'));
            throw new Error(`emissão recusada pelo portal [screenshot: ${file}; url: http://portal/emissao]`);
          }
          await gate;
        },
        { connection, prefix, name: `Worker-${q.name}-1`, concurrency: 1 },
      );
      workers.push(worker);
    }
    await waitFor(async () => (await emissao.getJobCounts('failed')).failed === 1, { what: 'the failing job' });
    // conferencia: 251 jobs for one worker (250 waiting: > 200 per worker, "crítico"); emissao: 3.
    await conferencia.addBulk(Array.from({ length: 251 }, (_, i) => ({ name: 'conferencia', data: { i } })));
    await emissao.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'emissao', data: { i } })));
    await waitFor(
      async () =>
        (await conferencia.getJobCounts('active')).active === 1 && (await emissao.getJobCounts('active')).active === 1,
      { what: 'one active job per queue' },
    );

    const status = new QueueBackedStatus([conferencia, emissao]);
    const now = Date.now();
    status.decisions = [
      {
        at: now - 40 * 60_000,
        queue: 'conferencia',
        pending: 120,
        current: 1,
        desired: 3,
        target: 3,
        action: 'up',
        reason: 'ceil(120/50)=3',
      },
      {
        at: now - 20 * 60_000,
        queue: 'conferencia',
        pending: 10,
        current: 3,
        desired: 1,
        target: 1,
        action: 'down',
        reason: 'ceil(10/50)=1',
      },
      {
        at: now - 5 * 60_000,
        queue: 'emissao',
        pending: 3,
        current: 0,
        desired: 1,
        target: 1,
        action: 'up',
        reason: 'ceil(3/50)=1',
      },
    ];
    const { logger } = captureLogger();
    server = new HttpServer({
      config: httpTestConfig({ auth: AUTH }),
      logger,
      status,
      events,
      queues: [conferencia, emissao],
      artifactsDir,
    });
    ({ url } = await server.start());
  });

  afterAll(async () => {
    release();
    await browser?.close().catch(() => undefined);
    for (const w of workers) await w.close();
    await server?.close();
    for (const q of [conferencia, emissao]) await q?.close();
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await fs.rm(artifactsDir, { recursive: true, force: true });
  });

  const poll = { timeout: 15_000, interval: 100 };

  it('shows both queues, worker names, coloured KPIs and failures, live; Bull Board shows workers', async () => {
    const executablePath = resolveExecutablePath('');
    browser = await chromium.launch({
      ...(executablePath ? { executablePath } : {}),
      args: [...new Set(['--no-sandbox', ...requiredChromiumArgs()])],
      env: { ...process.env, [MARKER_ENV]: marker },
    });
    expect(processesWithEnv(MARKER_ENV, marker).length).toBeGreaterThan(0);
    const context = await browser.newContext({
      httpCredentials: { username: AUTH.user, password: AUTH.password },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));

    // --- dashboard ---
    await page.goto(url);
    const confSection = page.locator('section.queue[data-queue="conferencia"]');
    const emiSection = page.locator('section.queue[data-queue="emissao"]');
    await expect.poll(() => confSection.locator('.worker-names').textContent(), poll).toBe('Worker-conferencia-1');
    await expect.poll(() => emiSection.locator('.worker-names').textContent(), poll).toBe('Worker-emissao-1');
    await expect.poll(() => confSection.locator('dd[data-field="pendentes"]').textContent(), poll).toBe('250');

    const kpi = (queue: string, name: string) =>
      page.locator(`#kpi-table tr[data-queue="${queue}"] td[data-kpi="${name}"]`).getAttribute('data-level');
    expect(await kpi('conferencia', 'jobs-per-worker')).toBe('crit'); // 250 per worker
    expect(await kpi('emissao', 'jobs-per-worker')).toBe('ok'); // 2 per worker
    expect(await kpi('conferencia', 'workers')).toBe('acceptable'); // 1 of ceil(250/50)=5, under the cap
    expect(await kpi('emissao', 'workers')).toBe('ok'); // 1 = ceil(2/50)
    expect(await page.locator('td[data-kpi="total-workers"]').getAttribute('data-level')).toBe('ok');
    await expect.poll(() => kpi('conferencia', 'completions-per-minute'), poll).toBe('crit'); // work, nothing done

    // The chart draws the last hour's decisions plus the live samples.
    const points = await confSection
      .locator('canvas.chart')
      .evaluate(
        (canvas) =>
          (
            window as unknown as { Chart: { getChart(c: Element): { data: { datasets: { data: unknown[] }[] } } } }
          ).Chart.getChart(canvas)?.data.datasets[0]?.data.length ?? 0,
      );
    expect(points).toBeGreaterThanOrEqual(3);
    await expect.poll(() => confSection.locator('table.decisions tbody tr').count(), poll).toBe(2);
    expect(await confSection.locator('table.decisions tbody tr').first().textContent()).toContain('down');

    // The failed emissao job, with a working link to its screenshot.
    const link = emiSection.locator('ul.failures a.screenshot');
    await expect.poll(() => link.count(), poll).toBe(1);
    expect(await emiSection.locator('ul.failures .reason').textContent()).toContain('emissão recusada');
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/artifacts\/emissao\/\d+-attempt1\.png$/);
    const shot = await page.request.get(url + href);
    expect(shot.status()).toBe(200);
    expect(shot.headers()['content-type']).toBe('image/png');

    // Live: 31 completions in the last minute turn the rate green without a reload.
    for (let i = 0; i < 31; i++) {
      events.emit('job-finished', {
        queue: 'conferencia',
        worker: 'Worker-conferencia-1',
        outcome: 'ok',
        durationMs: 100,
      });
    }
    await expect.poll(() => kpi('conferencia', 'completions-per-minute'), poll).toBe('ok');
    await page.screenshot({ path: path.join(OUT_DIR, 'dashboard.png'), fullPage: true });

    // --- Bull Board ---
    await page.goto(`${url}/admin/queues`);
    const sidebar = page.locator('a[href="/admin/queues/queue/conferencia"]');
    await sidebar.first().waitFor();
    await page.locator('a[href="/admin/queues/queue/emissao"]').first().waitFor();
    await page.screenshot({ path: path.join(OUT_DIR, 'bull-board.png'), fullPage: true });
    for (const q of ['conferencia', 'emissao']) {
      await page.goto(`${url}/admin/queues/queue/${q}?status=active`);
      await page.getByText(`Worker-${q}-1`).first().waitFor();
      await page.screenshot({ path: path.join(OUT_DIR, `bull-board-${q}.png`), fullPage: true });
    }
    expect(pageErrors).toEqual([]);

    await context.close();
    await browser.close();
    browser = undefined;
    await waitFor(() => processesWithEnv(MARKER_ENV, marker).length === 0, {
      timeoutMs: 15_000,
      what: 'no Chromium process left',
    });
    for (const f of ['dashboard.png', 'bull-board.png', 'bull-board-conferencia.png', 'bull-board-emissao.png']) {
      expect((await fs.stat(path.join(OUT_DIR, f))).size).toBeGreaterThan(1000);
    }
  });
});
