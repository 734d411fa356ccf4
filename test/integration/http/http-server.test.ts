import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventPoolHistory, redisPoolHistory } from '../../helpers/pool-history.js';
import { HttpServer } from '../../../src/http/server.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import { artifactBase } from '../../../src/workers/artifacts.js';
import type { StatusSource } from '../../../src/shared/status.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { FakeStatusSource, queueStatus } from '../../helpers/fake-status.js';
import { PrivateRedis, deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { waitFor } from '../../helpers/wait.js';
import { basic, httpTestConfig } from './fixture.js';

const redisConfig = sharedRedisConfig();
const connection = { host: redisConfig.host, port: redisConfig.port };
const prefix = uniqueName('httptest');
const AUTH = { user: 'operador', password: 's3nh@:com:dois-pontos' };

let redis: Redis;
let artifactsDir: string;
const queues: Queue[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = new Redis(connection);
  artifactsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'http-artifacts-'));
  for (const name of ['conferencia', 'emissao']) queues.push(new Queue(name, { connection, prefix }));
});

afterAll(async () => {
  for (const q of queues) await q.close();
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
  await fs.rm(artifactsDir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(opts: {
  auth?: { user: string; password: string };
  host?: string;
  status?: StatusSource;
  events?: ServiceEvents;
}) {
  const status = opts.status ?? new FakeStatusSource([queueStatus('conferencia'), queueStatus('emissao')]);
  const events = opts.events ?? new ServiceEvents();
  const { logger, lines } = captureLogger();
  // The real pool history in Redis, written by this "instance" from the events.
  const pool = redisPoolHistory(events, { prefix: uniqueName(prefix), queues: ['conferencia', 'emissao'] });
  cleanups.push(() => pool.close());
  const server = new HttpServer({
    config: httpTestConfig({ host: opts.host ?? '127.0.0.1', auth: opts.auth ?? { user: '', password: '' } }),
    logger,
    status,
    events,
    history: pool.history,
    queues,
    artifactsDir,
  });
  cleanups.push(() => server.close());
  const { url } = await server.start();
  return { server, url, status, events, lines, pool };
}

async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

describe('HttpServer auth', () => {
  it('asks for basic auth everywhere but /healthz, /readyz and /metrics', async () => {
    const { url } = await startServer({ auth: AUTH });
    for (const p of [
      '/',
      '/api/status',
      '/admin/queues',
      '/api/dashboard',
      '/assets/dashboard.js',
      '/artifacts/x.png',
    ]) {
      const none = await fetch(url + p);
      expect(none.status, `${p} without credentials`).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      const wrong = await fetch(url + p, { headers: { authorization: basic(AUTH.user, 'errada') } });
      expect(wrong.status, `${p} with a wrong password`).toBe(401);
      const wrongUser = await fetch(url + p, { headers: { authorization: basic('outro', AUTH.password) } });
      expect(wrongUser.status, `${p} with a wrong user`).toBe(401);
    }
    for (const p of ['/', '/api/status', '/admin/queues']) {
      const ok = await fetch(url + p, { headers: { authorization: basic(AUTH.user, AUTH.password) } });
      expect(ok.status, `${p} with credentials`).toBe(200);
    }
    const board = await fetch(`${url}/admin/queues`, { headers: { authorization: basic(AUTH.user, AUTH.password) } });
    expect(await board.text()).toContain('<div id="root"');
    const boardApi = await fetch(`${url}/admin/queues/api/queues`, {
      headers: { authorization: basic(AUTH.user, AUTH.password) },
    });
    const names = ((await boardApi.json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['conferencia', 'emissao']);
    for (const p of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(url + p)).status, `${p} open`).toBe(200);
    }
  });

  it('serves everything without credentials when no auth is configured (loopback)', async () => {
    const { url } = await startServer({});
    for (const p of [
      '/',
      '/api/status',
      '/admin/queues',
      '/healthz',
      '/metrics',
      '/assets/dashboard.js',
      '/assets/dashboard-charts.js',
      '/assets/dashboard-kpi.js',
      '/assets/chart.umd.min.js',
    ]) {
      expect((await fetch(url + p)).status, p).toBe(200);
    }
    const chart = await fetch(`${url}/assets/chart.umd.min.js`);
    expect(await chart.text()).toContain('Chart');
  });

  it('refuses to listen on a non-loopback host without auth, and on half a credential pair', async () => {
    const { logger } = captureLogger();
    const make = (host: string, auth = { user: '', password: '' }) =>
      new HttpServer({
        config: httpTestConfig({ host, auth }),
        logger,
        status: new FakeStatusSource(),
        ...(() => {
          const events = new ServiceEvents();
          return { events, history: new EventPoolHistory(events, ['conferencia', 'emissao']) };
        })(),
        queues: [],
        artifactsDir,
      });
    await expect(make('0.0.0.0').start()).rejects.toThrow(
      /^refusing to listen on 0\.0\.0\.0 without BOARD_USER\/BOARD_PASSWORD/,
    );
    await expect(make('::').start()).rejects.toThrow(/refusing to listen on ::/);
    await expect(make('127.0.0.1', { user: 'x', password: '' }).start()).rejects.toThrow(
      /needs both BOARD_USER and BOARD_PASSWORD/,
    );
    for (const host of ['localhost', '::1']) {
      const s = make(host);
      cleanups.push(() => s.close());
      const { url } = await s.start();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    }
    const withAuth = make('0.0.0.0', AUTH);
    cleanups.push(() => withAuth.close());
    const { url } = await withAuth.start();
    expect(url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    const port = new URL(url).port;
    expect((await fetch(`http://127.0.0.1:${port}/api/status`)).status).toBe(401);
  });

  it('start and close are idempotent; close frees the port', async () => {
    const { server, url } = await startServer({});
    expect(await server.start()).toEqual({ url });
    await Promise.all([server.close(), server.close()]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await expect(server.start()).rejects.toThrow(/closed/);
  });
});

describe('HttpServer /api/status and /readyz', () => {
  it('returns the status source document as JSON, and 503 when it cannot be read', async () => {
    const status = new FakeStatusSource([
      queueStatus('conferencia', {
        pending: 322,
        listLength: 22,
        waiting: 300,
        workers: 7,
        busy: 7,
        desired: 7,
        workerNames: ['Worker-conferencia-1'],
      }),
      queueStatus('emissao', { pending: 3, workers: 1, desired: 1 }),
    ]);
    status.decisions = [
      { at: 1000, queue: 'conferencia', pending: 322, current: 2, desired: 7, target: 7, action: 'up', reason: 'rule' },
    ];
    const { url } = await startServer({ status });
    const res = await fetch(`${url}/api/status`);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([
      'at',
      'instanceId',
      'instances',
      'maxTotalWorkers',
      'queues',
      'recentDecisions',
      'redis',
      'totalDesired',
      'totalWorkers',
    ]);
    expect(body).toMatchObject({
      redis: 'up',
      totalWorkers: 8,
      maxTotalWorkers: 20,
      recentDecisions: status.decisions,
    });
    const queuesBody = body.queues as Record<string, unknown>[];
    expect(queuesBody.map((q) => q.name)).toEqual(['conferencia', 'emissao']);
    for (const key of [
      'pending',
      'waiting',
      'active',
      'delayed',
      'failed',
      'workers',
      'busy',
      'desired',
      'maxWorkers',
    ]) {
      expect(typeof queuesBody[0]?.[key], key).toBe('number');
    }
    expect(queuesBody[0]).toMatchObject({
      pending: 322,
      workers: 7,
      desired: 7,
      workerNames: ['Worker-conferencia-1'],
    });

    status.fail = new Error('Connection is closed.');
    const down = await fetch(`${url}/api/status`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: 'status unavailable: Connection is closed.' });
  });

  it('answers /api/status with 503 and /metrics without queue series when the status hangs', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia')]);
    status.status = () => new Promise(() => undefined); // Redis gone silent
    const { url } = await startServer({ status });
    const [api, metrics] = await Promise.all([fetch(`${url}/api/status`), fetch(`${url}/metrics`)]);
    expect(api.status).toBe(503);
    expect(await api.json()).toEqual({ error: 'status unavailable: status timed out after 5000 ms' });
    const text = await metrics.text();
    expect(metrics.status).toBe(200);
    expect(text).toContain('rpa_status_up 0');
    expect(text).not.toContain('rpa_queue_pending_jobs{');
  });

  it('/readyz is 503 while Redis is down and 200 once it is back', async () => {
    const privateRedis = await PrivateRedis.create();
    await privateRedis.start();
    cleanups.push(() => privateRedis.stop());
    const client = new Redis({ port: privateRedis.port, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    client.on('error', () => undefined);
    cleanups.push(() => Promise.resolve(client.disconnect()));
    const status = new FakeStatusSource();
    status.redisReady = async () => {
      if (client.status !== 'ready') return false;
      return (await client.ping().catch(() => '')) === 'PONG';
    };
    const { url } = await startServer({ status });
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: '/readyz 200 with Redis up' });

    await privateRedis.stop();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, { what: '/readyz 503 with Redis down' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await privateRedis.start();
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, {
      what: '/readyz 200 after Redis is back',
    });
  });
});

describe('HttpServer /metrics', () => {
  it('exposes queue gauges, job durations and event counters, and passes promtool check metrics', async () => {
    const status = new FakeStatusSource([
      queueStatus('conferencia', {
        pending: 322,
        waiting: 300,
        active: 5,
        delayed: 2,
        failed: 1,
        workers: 7,
        busy: 5,
        desired: 7,
      }),
      queueStatus('emissao', {
        pending: 3,
        workers: 1,
        desired: 1,
        invalidList: { items: 8000, bytes: 1000, maxItems: 10_000, maxBytes: 1_000_000, fill: 0.8 },
      }),
    ]);
    const instance = (id: string, units: Record<string, number>, capacity: number) => ({
      id,
      host: id,
      version: '0.1.0',
      capacity,
      units,
      workers: Object.values(units).reduce((a, b) => a + b, 0),
      lastHeartbeatAt: new Date().toISOString(),
      heartbeatAgeMs: 500,
      self: id === 'maq-a',
    });
    status.instances = [
      instance('maq-a', { conferencia: 3, emissao: 1 }, 8),
      instance('maq-b', { conferencia: 4 }, 10),
    ];
    const events = new ServiceEvents();
    const { url } = await startServer({ status, events });
    events.emit('job-finished', {
      queue: 'conferencia',
      worker: 'Worker-conferencia-1',
      outcome: 'ok',
      durationMs: 1500,
    });
    events.emit('job-finished', {
      queue: 'conferencia',
      worker: 'Worker-conferencia-2',
      outcome: 'error',
      durationMs: 40_000,
    });
    events.emit('scaled', { queue: 'conferencia', action: 'up', from: 2, to: 7, pending: 322 });
    events.emit('scaled', { queue: 'conferencia', action: 'down', from: 7, to: 1, pending: 20 });
    events.emit('bridged', { queue: 'emissao', count: 3 });
    events.emit('invalid', { queue: 'emissao', reason: 'not JSON' });
    events.emit('duplicate', { queue: 'conferencia', id: 42 });
    events.emit('invalid-dropped', { queue: 'emissao', count: 3 });
    events.emit('oversized-dropped', { queue: 'emissao' });
    events.emit('browser-restart', {
      queue: 'conferencia',
      worker: 'Worker-conferencia-1',
      reason: 'memory',
      detail: 'memória 700 MB acima do limite de 600 MB',
    });
    events.emit('browser-memory', {
      queue: 'conferencia',
      worker: 'Worker-conferencia-1',
      pssBytes: 250 * 1024 * 1024,
    });
    events.emit('browser-memory', { queue: 'conferencia', worker: 'Worker-conferencia-2', pssBytes: 1 });
    events.emit('browser-memory', { queue: 'conferencia', worker: 'Worker-conferencia-2', pssBytes: null });

    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const lines = text.split('\n');
    const has = (line: string) => expect(lines, line).toContain(line);
    has('rpa_queue_pending_jobs{queue="conferencia"} 322');
    has('rpa_queue_pending_jobs{queue="emissao"} 3');
    has('rpa_queue_waiting_jobs{queue="conferencia"} 300');
    has('rpa_queue_active_jobs{queue="conferencia"} 5');
    has('rpa_queue_delayed_jobs{queue="conferencia"} 2');
    has('rpa_queue_failed_jobs{queue="conferencia"} 1');
    has('rpa_workers{queue="conferencia"} 7');
    has('rpa_workers_busy{queue="conferencia"} 5');
    has('rpa_workers_desired{queue="emissao"} 1');
    has('rpa_status_up 1');
    has('rpa_pool_instances 2');
    has('rpa_instance_workers{instance_id="maq-b",queue="conferencia"} 4');
    has('rpa_instance_capacity{instance_id="maq-a"} 8');
    has('rpa_job_duration_seconds_count{queue="conferencia",outcome="ok"} 1');
    has('rpa_job_duration_seconds_bucket{le="2",queue="conferencia",outcome="ok"} 1');
    has('rpa_job_duration_seconds_bucket{le="30",queue="conferencia",outcome="error"} 0');
    // Buckets for browser jobs: 100 ms to 5 min, finest where conferência and emissão land (0.3–3 s).
    const les = [
      ...text.matchAll(/^rpa_job_duration_seconds_bucket\{le="([^"]+)",queue="conferencia",outcome="ok"\}/gm),
    ];
    expect(les.map((m) => m[1])).toEqual([
      '0.1',
      '0.25',
      '0.5',
      '0.75',
      '1',
      '1.5',
      '2',
      '3',
      '5',
      '7.5',
      '10',
      '15',
      '30',
      '60',
      '120',
      '300',
      '+Inf',
    ]);
    has('rpa_scaling_events_total{queue="conferencia",direction="up"} 1');
    has('rpa_scaling_events_total{queue="conferencia",direction="down"} 1');
    has('rpa_bridged_items_total{queue="emissao"} 3');
    has('rpa_invalid_items_total{queue="emissao"} 1');
    has('rpa_duplicate_items_total{queue="conferencia"} 1');
    has('rpa_invalid_dropped_total{queue="emissao"} 3');
    has('rpa_oversized_dropped_total{queue="emissao"} 1');
    has('rpa_invalid_list_items{queue="emissao"} 8000');
    has('rpa_invalid_list_bytes{queue="emissao"} 1000');
    has('rpa_invalid_list_fill_ratio{queue="emissao"} 0.8');
    expect(text).not.toContain('rpa_invalid_list_items{queue="conferencia"}'); // unknown: no series
    has('rpa_browser_restarts_total{queue="conferencia",reason="memory"} 1');
    has(`rpa_browser_memory_bytes{queue="conferencia",worker="Worker-conferencia-1"} ${250 * 1024 * 1024}`);
    expect(text).not.toContain('worker="Worker-conferencia-2"'); // its unit closed: no stale series
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);

    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);

    // Status unavailable: the queue series go away, the scrape still works and stays valid.
    status.fail = new Error('down');
    await waitFor(
      async () => {
        const t = await (await fetch(`${url}/metrics`)).text();
        return t.includes('rpa_status_up 0') && !t.includes('rpa_queue_pending_jobs{') ? t : undefined;
      },
      { what: 'metrics without status' },
    ).then(async (t) => expect((await promtoolCheck(t)).code).toBe(0));
  });

  it('the promtool check can fail (guards the guard)', async () => {
    const check = await promtoolCheck('# TYPE bad_counter counter\nbad_counter 1\n');
    expect(check.code).not.toBe(0);
  });

  it('two servers in one process keep separate registries', async () => {
    const a = await startServer({});
    const b = await startServer({});
    a.events.emit('bridged', { queue: 'conferencia', count: 5 });
    expect(await (await fetch(`${a.url}/metrics`)).text()).toContain('rpa_bridged_items_total{queue="conferencia"} 5');
    expect(await (await fetch(`${b.url}/metrics`)).text()).not.toContain(
      'rpa_bridged_items_total{queue="conferencia"}',
    );
  });
});

describe('HttpServer dashboard data', () => {
  it('lists recent failures with links to their screenshots, served under /artifacts', async () => {
    const queue = queues[0];
    if (!queue) throw new Error('no queue');
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    const worker = new Worker(
      queue.name,
      async (job) => {
        const file = path.join(artifactsDir, queue.name, `${job.id}-attempt1.png`);
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, png);
        throw new Error(`portal caiu [screenshot: ${file}; url: http://portal/x]`);
      },
      { connection, prefix, name: `Worker-${queue.name}-1` },
    );
    cleanups.push(() => worker.close());
    const job = await queue.add('j', { id: 'a' }, { attempts: 1 });
    const { url } = await startServer({ auth: AUTH });
    const headers = { authorization: basic(AUTH.user, AUTH.password) };
    await waitFor(async () => (await queue.getJobState(job.id ?? '')) === 'failed', { what: 'job failed' });

    const res = await fetch(`${url}/api/dashboard`, { headers });
    const body = (await res.json()) as {
      failures: { queue: string; id: string; reason: string; screenshots: string[] }[];
    };
    const failure = body.failures.find((f) => f.id === job.id);
    expect(failure).toMatchObject({ queue: queue.name, reason: expect.stringContaining('portal caiu') as unknown });
    expect(failure?.screenshots).toEqual([`/artifacts/${queue.name}/${job.id}-attempt1.png`]);

    const img = await fetch(`${url}${failure?.screenshots[0]}`, { headers });
    expect(img.status).toBe(200);
    expect(img.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await img.arrayBuffer())).toEqual(png);
    expect((await fetch(`${url}${failure?.screenshots[0]}`)).status).toBe(401);
    // No way out of artifactsDir.
    const escape = await fetch(`${url}/artifacts/..%2f..%2fetc%2fpasswd`, { headers });
    expect(escape.status).toBeGreaterThanOrEqual(400);
    expect(await escape.text()).not.toContain('root:');
  });

  it('matches screenshots to failed jobs by exact id: x / x-attempt1 and a b / a_b keep their own', async () => {
    const queue = queues[1];
    if (!queue) throw new Error('no queue');
    const ids = ['x', 'x-attempt1', 'a b', 'a_b'];
    const worker = new Worker(
      queue.name,
      async (job) => {
        // Named as the worker units name them; the error does not mention the file.
        const file = `${artifactBase(artifactsDir, queue.name, job.id ?? '', 1)}.png`;
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, Buffer.from(String(job.id)));
        throw new Error('portal caiu');
      },
      { connection, prefix, name: `Worker-${queue.name}-1` },
    );
    cleanups.push(() => worker.close());
    for (const jobId of ids) await queue.add('j', {}, { jobId, attempts: 1 });
    const { url } = await startServer({ auth: AUTH });
    const headers = { authorization: basic(AUTH.user, AUTH.password) };
    await waitFor(async () => (await queue.getFailedCount()) >= ids.length, { what: 'the jobs failed' });

    const body = (await (await fetch(`${url}/api/dashboard`, { headers })).json()) as {
      failures: { queue: string; id: string; screenshots: string[] }[];
    };
    for (const id of ids) {
      const failure = body.failures.find((f) => f.queue === queue.name && f.id === id);
      expect(failure?.screenshots, id).toHaveLength(1);
      const shot = await fetch(`${url}${failure?.screenshots[0]}`, { headers });
      expect(await shot.text(), id).toBe(id);
    }
  });

  it('reports the decisions of the last hour and the completions of the last minute', async () => {
    const status = new FakeStatusSource([queueStatus('conferencia')]);
    const now = Date.now();
    status.decisions = [
      {
        at: now - 2 * 3_600_000,
        queue: 'conferencia',
        pending: 1,
        current: 1,
        desired: 1,
        target: 1,
        action: 'hold',
        reason: 'old',
      },
      {
        at: now - 60_000,
        queue: 'conferencia',
        pending: 322,
        current: 2,
        desired: 7,
        target: 7,
        action: 'up',
        reason: 'new',
      },
    ];
    const { url, events, pool } = await startServer({ status });
    for (let i = 0; i < 3; i++) {
      events.emit('job-finished', { queue: 'conferencia', worker: 'w', outcome: 'ok', durationMs: 1 });
    }
    events.emit('job-finished', { queue: 'conferencia', worker: 'w', outcome: 'retry', durationMs: 1 });
    await pool.flush();
    const body = (await (await fetch(`${url}/api/dashboard`)).json()) as {
      decisions: { reason: string }[];
      lastMinute: Record<string, { completed: number; failed: number }>;
    };
    expect(body.decisions.map((d) => d.reason)).toEqual(['new']);
    expect(body.lastMinute.conferencia).toEqual({ completed: 3, failed: 1 });
  });
});
