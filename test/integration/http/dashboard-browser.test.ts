import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Locator, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardData } from '../../../src/http/dashboard-routes.js';
import { HttpServer } from '../../../src/http/server.js';
import type { DecisionRecord } from '../../../src/shared/decision-record.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import type { CapacityStatus, QueueStatus, ServiceStatus, StatusSource } from '../../../src/shared/status.js';
import { requiredChromiumArgs, resolveExecutablePath } from '../../../src/workers/browser-launch.js';
import { redisPoolHistory } from '../../helpers/pool-history.js';
import { processesWithEnv } from '../../helpers/processes.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { queueStatus } from '../../helpers/fake-status.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { httpTestConfig } from './fixture.js';

/** Screenshots: `DASHBOARD_SHOTS_DIR`, else a temp folder (never the checkout). */
const OUT_DIR = process.env.DASHBOARD_SHOTS_DIR ?? path.join(os.tmpdir(), 'rpa-pool-dashboard-shots');
const AUTH = { user: 'operador', password: 'painel-secreto' };
const MARKER_ENV = 'RPA_HTTP_TEST_BROWSER';
const redisConfig = sharedRedisConfig();
const connection = { host: redisConfig.host, port: redisConfig.port };
const prefix = uniqueName('dashtest');
const JOBS_PER_WORKER = 50;
/** conferencia: jobs that finish at once (the per-minute charts), then jobs held by the gate. */
const QUICK_JOBS = 20;
const HELD_JOBS = 231;

/** A status read from the real BullMQ queues: counts, connected workers and their names. */
/** What the capacity monitor reports on a 2-core machine (the KPI table's "Capacidade" row). */
const CAPACITY: CapacityStatus = {
  enabled: true,
  units: 2,
  limitedBy: 'cpu',
  reason: 'CPU: 1,8 de 2 núcleos livres (0,1 usados por outros processos), 0,8 núcleo por worker',
  limit: { signal: 'cpu', cores: 2, freeCores: 1.8, otherCores: 0.1, maxCpuRatio: 0.95, perUnit: 0.8 },
  overloaded: false,
  overloadReason: null,
  overload: null,
  cores: 2,
  cpuPercent: 97,
  ourCores: 1.8,
  otherCores: 0.1,
  freeCores: 1.8,
  cpuPerUnit: { conferencia: 0.8, emissao: null },
  unitCpu: { conferencia: { busySeconds: 40, cpuSeconds: 30, waitSeconds: 2.5, from: 'local' } },
  launches: { limit: 1, launching: 1, waiting: 3, paused: true },
  memoryUsedMb: 3000,
  memoryLimitMb: 24000,
  browserMb: 240,
  browsers: 2,
  unitMemoryMb: 120,
  eventLoopDelayMs: 12,
  overloadedShort: { cpu: 0.2, memory: 0, eventLoop: 0 },
  overloadedLong: { cpu: 0.1, memory: 0, eventLoop: 0 },
  source: { cpu: 'proc', memory: 'proc' },
};

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
      instanceId: 'maq-a',
      instances: [
        {
          id: 'maq-a',
          host: 'host-a',
          version: '0.1.0',
          capacity: 12,
          units: Object.fromEntries(queues.map((q) => [q.name, q.workers])),
          workers: queues.reduce((s, q) => s + q.workers, 0),
          lastHeartbeatAt: new Date().toISOString(),
          heartbeatAgeMs: 0,
          self: true,
        },
        {
          id: 'maq-b',
          host: 'host-b',
          version: '0.1.0',
          capacity: 8,
          units: {},
          workers: 0,
          lastHeartbeatAt: new Date().toISOString(),
          heartbeatAgeMs: 1500,
          self: false,
        },
      ],
      queues,
      totalWorkers: queues.reduce((s, q) => s + q.workers, 0),
      totalDesired: queues.reduce((s, q) => s + q.desired, 0),
      maxTotalWorkers: 20,
      recentDecisions: [...this.decisions].reverse().slice(0, 20),
      capacity: CAPACITY,
    };
  }

  decisionsSince(sinceMs: number): Promise<DecisionRecord[]> {
    return Promise.resolve(this.decisions.filter((d) => d.at >= sinceMs));
  }

  redisReady(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

function decision(at: number, queue: string, pending: number, current: number, target: number): DecisionRecord {
  const action = target > current ? 'up' : target < current ? 'down' : 'hold';
  const reason = `ceil(${pending}/50) limitado a [mín, máx] = ${Math.min(10, Math.ceil(pending / 50))}`;
  return { at, queue, pending, current, desired: target, target, action, reason };
}

/** The colours the page draws its first line of each chart with (dashboard.js COLORS). */
const LINE_RGB = { load: [0x34, 0x61, 0xc1], rate: [0x2b, 0x8a, 0x3e], time: [0x1c, 0x7e, 0xd6] } as const;

/**
 * Data points per dataset of a chart, and how many pixels of its plot area (legend and axes left
 * out) carry the colour of its first series: a series outside the axes' bounds draws none.
 */
async function chartFacts(canvas: Locator, rgb: readonly number[]): Promise<{ points: number[]; inked: number }> {
  return canvas.evaluate((node, color) => {
    type ChartLike = {
      data: { datasets: { data: unknown[] }[] };
      chartArea: { left: number; top: number; right: number; bottom: number };
    };
    const chart = (window as unknown as { Chart: { getChart(c: Element): ChartLike | undefined } }).Chart.getChart(
      node,
    );
    const c = node as HTMLCanvasElement;
    if (!chart) return { points: [], inked: 0 };
    const scale = c.width / c.clientWidth;
    const { left, top, right, bottom } = chart.chartArea;
    const x = Math.floor(left * scale);
    const y = Math.floor(top * scale);
    const w = Math.max(1, Math.floor((right - left) * scale));
    const h = Math.max(1, Math.floor((bottom - top) * scale));
    const pixels = c.getContext('2d')?.getImageData(x, y, w, h).data ?? new Uint8ClampedArray();
    let inked = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const near =
        Math.abs((pixels[i] ?? 0) - (color[0] ?? 0)) < 40 &&
        Math.abs((pixels[i + 1] ?? 0) - (color[1] ?? 0)) < 40 &&
        Math.abs((pixels[i + 2] ?? 0) - (color[2] ?? 0)) < 40 &&
        (pixels[i + 3] ?? 0) > 128;
      if (near) inked++;
    }
    return { points: chart.data.datasets.map((d) => d.data.length), inked };
  }, rgb);
}

/**
 * Fails when a chart is empty while the server has data for it: every chart with data must hold
 * points and show them inside its plot area (a lone minute is a dot of ~12 pixels).
 */
async function expectChartsShowData(page: Page, url: string, range: string): Promise<DashboardData> {
  const data = (await (await page.request.get(`${url}/api/dashboard?range=${range}`)).json()) as DashboardData;
  for (const [queue, history] of Object.entries(data.queues)) {
    const section = page.locator(`section.queue[data-queue="${queue}"]`);
    const load = await chartFacts(section.locator('canvas.chart-load'), LINE_RGB.load);
    const rate = await chartFacts(section.locator('canvas.chart-rate'), LINE_RGB.rate);
    const time = await chartFacts(section.locator('canvas.chart-time'), LINE_RGB.time);
    // Up to a day the load chart draws the decisions; over 7 days each hour's peak from the history.
    const loadFromPoints = data.stepMs >= 3_600_000 && history.points.some((p) => p.pendingMax > 0);
    if (history.decisions.length > 0 || loadFromPoints) {
      expect(load.points[0], `${queue}: pending chart empty while decisions exist`).toBeGreaterThan(0);
      expect(load.inked, `${queue}: pending line not drawn`).toBeGreaterThan(8);
    }
    if (history.points.some((m) => m.completed > 0)) {
      expect(rate.points[0], `${queue}: completions chart empty while completions exist`).toBeGreaterThan(0);
      expect(rate.inked, `${queue}: completions not drawn`).toBeGreaterThan(8);
      expect(time.points[0], `${queue}: job-time chart empty while job times exist`).toBeGreaterThan(0);
      expect(time.inked, `${queue}: job-time line not drawn`).toBeGreaterThan(8);
    }
  }
  return data;
}

describe('dashboard and Bull Board in Chromium', () => {
  const marker = randomUUID();
  const events = new ServiceEvents();
  let redis: Redis;
  let artifactsDir: string;
  let conferencia: Queue;
  let emissao: Queue;
  let status: QueueBackedStatus;
  const workers: Worker[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let server: HttpServer;
  let url: string;
  let browser: Browser | undefined;
  /** What this "instance" reports as pending for conferencia (the 7-day chart's hourly peaks). */
  let conferenciaPending = 0;
  let pool: ReturnType<typeof redisPoolHistory>;
  let past: ReturnType<typeof redisPoolHistory>;

  beforeAll(async () => {
    await fs.mkdir(OUT_DIR, { recursive: true });
    redis = new Redis(connection);
    artifactsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'dash-artifacts-'));
    conferencia = new Queue('conferencia', { connection, prefix });
    emissao = new Queue('emissao', { connection, prefix });
    for (const q of [conferencia, emissao]) {
      const worker = new Worker(
        q.name,
        async (job) => {
          const data = job.data as { fail?: boolean; hold?: boolean; sleepMs?: number };
          if (data.fail) {
            const file = path.join(artifactsDir, q.name, `${job.id}-attempt1.png`);
            await fs.mkdir(path.dirname(file), { recursive: true });
            await fs.writeFile(file, Buffer.from('89504e470d0a1a0a', 'hex'));
            throw new Error(`emissão recusada pelo portal [screenshot: ${file}; url: http://portal/emissao]`);
          }
          if (data.sleepMs) await new Promise((resolve) => setTimeout(resolve, data.sleepMs));
          if (data.hold) await gate;
        },
        { connection, prefix, name: `Worker-${q.name}-1`, concurrency: 1 },
      );
      // What the service's worker units report: the dashboard's per-minute series come from it.
      const finished = (outcome: 'ok' | 'error', job: { processedOn?: number; finishedOn?: number } | undefined) =>
        events.emit('job-finished', {
          queue: q.name,
          worker: `Worker-${q.name}-1`,
          outcome,
          durationMs: Math.max(0, (job?.finishedOn ?? Date.now()) - (job?.processedOn ?? Date.now())),
        });
      worker.on('completed', (job) => finished('ok', job));
      worker.on('failed', (job) => finished('error', job));
      workers.push(worker);
    }

    status = new QueueBackedStatus([conferencia, emissao]);
    const { logger } = captureLogger();
    // The pool history in Redis, as the service writes it; and three days ago, one busy hour by
    // another instance (the 7-day range shows both).
    pool = redisPoolHistory(events, {
      prefix,
      queues: ['conferencia', 'emissao'],
      gauges: (queue) => ({
        pending: queue === 'conferencia' ? conferenciaPending : 0,
        workers: 1,
        bridgeStuckSeconds: 0,
      }),
    });
    const pastEvents = new ServiceEvents();
    const threeDaysAgo = Date.now() - 3 * 86_400_000;
    past = redisPoolHistory(pastEvents, {
      prefix,
      queues: ['conferencia', 'emissao'],
      instanceId: 'maq-antiga',
      clock: () => threeDaysAgo,
      gauges: () => ({ pending: 400, workers: 4, bridgeStuckSeconds: 0 }),
    });
    for (let i = 0; i < 240; i++) {
      pastEvents.emit('job-finished', {
        queue: 'conferencia',
        worker: 'Worker-conferencia-1',
        outcome: i % 40 === 0 ? 'retry' : 'ok',
        durationMs: 800 + (i % 10) * 100,
      });
    }
    await past.flush();
    await past.writer.close();
    server = new HttpServer({
      config: httpTestConfig({ auth: AUTH }),
      logger,
      status,
      events,
      history: pool.history,
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
    await pool?.close();
    await past?.close();
    for (const q of [conferencia, emissao]) await q?.close();
    await deleteKeys(redis, `${prefix}:*`);
    redis.disconnect();
    await fs.rm(artifactsDir, { recursive: true, force: true });
  });

  // Generous: two loaded cores shared with other suites and a real Chromium.
  const poll = { timeout: 30_000, interval: 200 };

  it('start, mid-burst and end of a burst: charts drawn, changes folded, idle never red, no console error', async () => {
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
    // Any console error, uncaught exception or failed request of the page fails the test.
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()} ${res.url()}`);
    });
    page.on('requestfailed', (req) => problems.push(`failed request ${req.url()}`));

    const kpi = (queue: string, name: string) =>
      page.locator(`#kpi-table tr[data-queue="${queue}"] td[data-kpi="${name}"]`).getAttribute('data-level');
    const confSection = page.locator('section.queue[data-queue="conferencia"]');
    const emiSection = page.locator('section.queue[data-queue="emissao"]');

    // --- start: nothing has happened yet ---
    await page.goto(url);
    await expect.poll(() => kpi('emissao', 'completions-per-minute'), poll).toBe('idle');
    expect(await kpi('conferencia', 'completions-per-minute')).toBe('idle');
    expect(await page.locator('#range button[aria-pressed="true"]').getAttribute('data-range')).toBe('pico');
    await expect.poll(() => page.locator('#window').textContent(), poll).toMatch(/^desde o último pico: /);
    await page.screenshot({ path: path.join(OUT_DIR, 'dashboard-start.png'), fullPage: true });
    expect(problems).toEqual([]);

    // --- the burst ---
    // emissao: one job fails with a screenshot, three complete: then the queue is idle, with a
    // few completions in the last minute (fewer than 10: the rule's "crítico" if it had work).
    await emissao.add('emissao', { fail: true }, { attempts: 1 });
    await emissao.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'emissao', data: { i, sleepMs: 300 } })));
    // conferencia: 20 jobs that finish, then 231 held: one busy worker, 230 waiting.
    conferenciaPending = 230;
    await conferencia.addBulk([
      ...Array.from({ length: QUICK_JOBS }, (_, i) => ({ name: 'conferencia', data: { i, sleepMs: 50 + i * 20 } })),
      ...Array.from({ length: HELD_JOBS }, (_, i) => ({ name: 'conferencia', data: { i, hold: true } })),
    ]);
    const now = Date.now();
    const s = 1000;
    status.decisions = [
      decision(now - 200 * s, 'conferencia', 0, 0, 0),
      decision(now - 190 * s, 'conferencia', 251, 0, 6),
      // 12 holds at 6 workers: one row in the table.
      ...Array.from({ length: 12 }, (_, i) => decision(now - (180 - i * 10) * s, 'conferencia', 248 - i, 6, 6)),
      decision(now - 60 * s, 'conferencia', 236, 6, 5),
      decision(now - 50 * s, 'conferencia', 232, 5, 5),
      decision(now - 40 * s, 'conferencia', 231, 5, 5),
      decision(now - 190 * s, 'emissao', 4, 0, 1),
      decision(now - 180 * s, 'emissao', 1, 1, 1),
      decision(now - 170 * s, 'emissao', 0, 1, 1),
      decision(now - 100 * s, 'emissao', 0, 1, 0),
      decision(now - 90 * s, 'emissao', 0, 0, 0),
      decision(now - 80 * s, 'emissao', 0, 0, 0),
    ].sort((a, b) => a.at - b.at);
    await waitFor(
      async () =>
        (await emissao.getJobCounts('completed')).completed === 3 &&
        (await conferencia.getJobCounts('completed')).completed === QUICK_JOBS &&
        (await conferencia.getJobCounts('active')).active === 1,
      { timeoutMs: 60_000, what: 'the quick jobs done, one conferencia job held' },
    );

    // --- mid-burst ---
    await expect.poll(() => confSection.locator('dd[data-field="pendentes"]').textContent(), poll).toBe('230');
    await expect.poll(() => confSection.locator('.worker-names').textContent(), poll).toBe('Worker-conferencia-1');
    await expect.poll(() => kpi('conferencia', 'completions-per-minute'), poll).toBe('warn'); // 20 in the last minute
    expect(await kpi('conferencia', 'jobs-per-worker')).toBe('crit'); // 230 per worker
    expect(await kpi('conferencia', 'workers')).toBe('acceptable'); // 1 of ceil(230/50)=5, under the cap
    // The idle queue: 3 completions in the last minute and nothing to do is "ocioso", not red.
    await expect.poll(() => emiSection.locator('dd[data-field="concluídos"]').textContent(), poll).toBe('3');
    expect(await kpi('emissao', 'completions-per-minute')).toBe('idle');
    expect(await kpi('emissao', 'jobs-per-worker')).toBe('idle');
    expect(await page.locator('td[data-kpi="total-workers"]').getAttribute('data-level')).toBe('ok');
    const capacityCell = page.locator('td[data-kpi="capacity"]');
    expect(await capacityCell.textContent()).toBe(
      '2 worker(s): CPU: 1,8 de 2 núcleos livres (0,1 usados por outros processos), 0,8 núcleo por worker · ' +
        'CPU por worker: conferencia 0.8, emissao — · livres 1.8 de 2 núcleo(s) · ' +
        'abrindo navegadores: 1 de 1 por vez, 3 na fila (em pausa: sem CPU livre) · nossos 1.8 núcleo(s) · ' +
        'navegadores 240 MB (2) · memória 3000 de 24000 MB · event loop 12 ms · ótimo',
    );
    expect(await capacityCell.getAttribute('data-level')).toBe('ok');
    await expect.poll(() => page.locator('#kpi-table td.kpi-crit[data-kpi="completions-per-minute"]').count()).toBe(0);
    // The instances of the pool, one row each.
    expect(await page.locator('#instances-table tbody tr').count()).toBe(2);
    expect(
      await page.locator('#instances-table tr[data-instance="maq-b"] td[data-field="workers"]').textContent(),
    ).toBe('0 de 8');
    expect(await page.locator('#instances-summary').textContent()).toBe('2 instância(s) viva(s) neste Redis');

    // The decisions table: the changes, with the 12 holds folded into one row.
    const confRows = confSection.locator('table.decisions tbody tr');
    await expect.poll(() => confRows.count(), poll).toBe(5);
    expect(await confRows.nth(0).getAttribute('data-count')).toBe('2'); // the last two holds
    expect(await confRows.nth(1).getAttribute('data-action')).toBe('down');
    expect(await confRows.nth(1).locator('td').nth(1).textContent()).toBe('reduzir');
    expect(await confRows.nth(2).getAttribute('data-count')).toBe('12');
    expect(await confRows.nth(2).locator('td').nth(2).textContent()).toBe('×12');
    expect(await confRows.nth(3).locator('td').nth(1).textContent()).toBe('escalar');

    // The failed emissao job, with a working link to its screenshot.
    const link = emiSection.locator('ul.failures a.screenshot');
    await expect.poll(() => link.count(), poll).toBe(1);
    expect(await emiSection.locator('ul.failures .reason').textContent()).toContain('emissão recusada');
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^\/artifacts\/emissao\/\d+-attempt1\.png$/);
    const shot = await page.request.get(url + href);
    expect(shot.status()).toBe(200);
    expect(shot.headers()['content-type']).toBe('image/png');

    // Charts zoomed to the burst (about 3 minutes, not an hour), with every series drawn.
    await expect.poll(() => page.locator('#window').textContent(), poll).toMatch(/\((\d) min\)$/);
    await expect
      .poll(async () => (await chartFacts(confSection.locator('canvas.chart-rate'), LINE_RGB.rate)).points[0], poll)
      .toBeGreaterThan(0);
    await expectChartsShowData(page, url, 'pico');
    await page.screenshot({ path: path.join(OUT_DIR, 'dashboard-mid-burst.png'), fullPage: true });
    expect(problems).toEqual([]);

    // The range control: the last 5 min, 24 h and 7 days redraw from the server, with data still drawn.
    for (const [range, text] of [
      ['5m', /^últimos 5 min: .* \(5 min\)$/],
      ['24h', /^últimas 24 h: .* \(1440 min, pontos de 10 min\)$/],
      ['7d', /^últimos 7 dias: \d\d\/\d\d \d\d:\d\d – agora \(10080 min, pontos de 60 min\)$/],
      ['pico', /^desde o último pico: /],
    ] as const) {
      await page.locator(`#range button[data-range="${range}"]`).click();
      await expect.poll(() => page.locator('#window').textContent(), poll).toMatch(text);
      const data = await expectChartsShowData(page, url, range);
      if (range !== '7d') continue;
      // A week: the busy hour three days ago and this one, from two instances, per hour.
      const points = data.queues.conferencia?.points ?? [];
      expect(points.length).toBeGreaterThanOrEqual(2);
      expect(points[0]).toMatchObject({ completed: 234, failed: 6, retried: 6, pendingMax: 400, workersMax: 4 });
      expect(data.instances['maq-antiga']).toEqual({ completed: 234, failed: 6 });
      // The hour being written is at most 10 s behind.
      await expect
        .poll(async () => {
          const now = (await (await page.request.get(`${url}/api/dashboard?range=7d`)).json()) as DashboardData;
          return now.instances['maq-a']?.completed ?? 0;
        }, poll)
        .toBeGreaterThanOrEqual(QUICK_JOBS);
      await expect
        .poll(() => confSection.locator('.rate-caption').textContent(), poll)
        .toBe('Concluídos e falhas por minuto (média por hora)');
      await expect
        .poll(() => page.locator('#instances-gone').textContent(), poll)
        .toContain('maq-antiga: 234 concluído(s)');
      await page.screenshot({ path: path.join(OUT_DIR, 'dashboard-7d.png'), fullPage: true });
      expect(problems).toEqual([]);
    }

    // --- end: the held jobs run, the scaler winds down ---
    release();
    await waitFor(async () => (await conferencia.getJobCounts('completed')).completed === QUICK_JOBS + HELD_JOBS, {
      timeoutMs: 90_000,
      what: 'every conferencia job done',
    });
    const end = Date.now();
    status.decisions = [
      ...status.decisions,
      decision(end - 2 * s, 'conferencia', 0, 5, 0),
      decision(end - 1 * s, 'conferencia', 0, 0, 0),
    ];
    await expect.poll(() => confSection.locator('dd[data-field="pendentes"]').textContent(), poll).toBe('0');
    await expect.poll(() => kpi('conferencia', 'jobs-per-worker'), poll).toBe('idle');
    // Hundreds of completions a minute ago, no work now: "ocioso".
    await expect.poll(() => kpi('conferencia', 'completions-per-minute'), poll).toBe('idle');
    await expect.poll(() => confRows.first().getAttribute('data-action'), poll).toBe('hold');
    expect(await confRows.nth(1).getAttribute('data-action')).toBe('down');
    await expectChartsShowData(page, url, 'pico');
    await page.screenshot({ path: path.join(OUT_DIR, 'dashboard-end.png'), fullPage: true });
    expect(problems).toEqual([]);

    // --- Bull Board ---
    await page.goto(`${url}/admin/queues`);
    await page.locator('a[href="/admin/queues/queue/conferencia"]').first().waitFor();
    await page.locator('a[href="/admin/queues/queue/emissao"]').first().waitFor();
    await page.screenshot({ path: path.join(OUT_DIR, 'bull-board.png'), fullPage: true });
    await page.goto(`${url}/admin/queues/queue/emissao?status=failed`);
    await page.getByText('emissão recusada').first().waitFor();
    await page.screenshot({ path: path.join(OUT_DIR, 'bull-board-emissao.png'), fullPage: true });

    await context.close();
    await browser.close();
    browser = undefined;
    await waitFor(() => processesWithEnv(MARKER_ENV, marker).length === 0, {
      timeoutMs: 15_000,
      what: 'no Chromium process left',
    });
    for (const f of ['dashboard-start.png', 'dashboard-mid-burst.png', 'dashboard-end.png', 'bull-board.png']) {
      expect((await fs.stat(path.join(OUT_DIR, f))).size).toBeGreaterThan(10_000);
    }
  });
});
