import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventPoolHistory } from '../../helpers/pool-history.js';
import { HttpServer } from '../../../src/http/server.js';
import { ServiceEvents } from '../../../src/shared/events.js';
import { captureLogger } from '../../helpers/capture-logger.js';
import { FakeStatusSource, queueStatus } from '../../helpers/fake-status.js';
import { deleteKeys, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { basic, httpTestConfig } from './fixture.js';

const redisConfig = sharedRedisConfig();
const connection = { host: redisConfig.host, port: redisConfig.port };
const prefix = uniqueName('hardening');
const AUTH = { user: 'operador', password: 'painel-secreto' };

let redis: Redis;
let root: string;
let artifactsDir: string;
let queue: Queue;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = new Redis(connection);
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'http-hardening-'));
  artifactsDir = path.join(root, 'artifacts');
  await fs.mkdir(path.join(artifactsDir, 'conferencia'), { recursive: true });
  queue = new Queue('conferencia', { connection, prefix });
});

afterAll(async () => {
  await queue.close();
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
  await fs.rm(root, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startServer(opts: { auth?: { user: string; password: string }; status?: FakeStatusSource } = {}) {
  const status = opts.status ?? new FakeStatusSource([queueStatus('conferencia')]);
  const server = new HttpServer({
    config: httpTestConfig({ host: '127.0.0.1', auth: opts.auth ?? { user: '', password: '' } }),
    logger: captureLogger().logger,
    status,
    ...(() => {
      const events = new ServiceEvents();
      return { events, history: new EventPoolHistory(events, ['conferencia', 'emissao']) };
    })(),
    queues: [queue],
    artifactsDir,
  });
  cleanups.push(() => server.close());
  const { url } = await server.start();
  return { url, port: Number(new URL(url).port) };
}

/** A raw request, so the Host header can be anything (fetch always sends the URL's host). */
function rawGet(port: number, pathName: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathName, method: 'GET', headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function jobCount(): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('HTTP hardening', () => {
  it('refuses cross-site writes into Bull Board (text/plain POST with cached credentials) and keeps same-origin ones', async () => {
    const { url } = await startServer({ auth: AUTH });
    const addUrl = `${url}/admin/queues/api/queues/conferencia/add`;
    const authorization = basic(AUTH.user, AUTH.password);
    const before = await jobCount();

    const crossOrigin = await fetch(addUrl, {
      method: 'POST',
      headers: { authorization, 'content-type': 'text/plain', origin: 'http://evil.example' },
      body: '{"name":"x","data":{}}',
    });
    expect(crossOrigin.status).toBe(403);
    const crossSite = await fetch(addUrl, {
      method: 'POST',
      headers: { authorization, 'content-type': 'text/plain', 'sec-fetch-site': 'cross-site' },
      body: '{"name":"x","data":{}}',
    });
    expect(crossSite.status).toBe(403);
    const sameSiteOtherPort = await fetch(addUrl, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', 'sec-fetch-site': 'same-site' },
      body: '{"name":"x","data":{}}',
    });
    expect(sameSiteOtherPort.status).toBe(403);
    expect(await jobCount()).toBe(before);

    const sameOrigin = await fetch(addUrl, {
      method: 'POST',
      headers: {
        authorization,
        'content-type': 'application/json',
        origin: url,
        'sec-fetch-site': 'same-origin',
      },
      body: JSON.stringify({ name: 'manual', data: { id: 'same-origin' }, options: {} }),
    });
    expect(sameOrigin.status).toBe(200);
    expect(await jobCount()).toBe(before + 1);
    // Reading stays possible from anywhere the credentials are (GET is not a write).
    expect(
      (await fetch(`${url}/api/status`, { headers: { authorization, origin: 'http://evil.example' } })).status,
    ).toBe(200);
  });

  it('sends the usual security headers: no framing, nosniff, no X-Powered-By', async () => {
    const { url } = await startServer({ auth: AUTH });
    for (const p of ['/', '/admin/queues', '/api/status', '/healthz']) {
      const res = await fetch(`${url}${p}`, { headers: { authorization: basic(AUTH.user, AUTH.password) } });
      expect(res.status, p).toBe(200);
      expect(res.headers.get('x-frame-options'), p).toBe('DENY');
      expect(res.headers.get('content-security-policy'), p).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options'), p).toBe('nosniff');
      expect(res.headers.get('x-powered-by'), p).toBeNull();
    }
  });

  it('without auth accepts only loopback Host names and the configured host (no DNS rebinding)', async () => {
    const { port } = await startServer();
    expect((await rawGet(port, '/api/status', 'evil.example')).status).toBe(421);
    expect((await rawGet(port, '/api/status', `rebind.evil.example:${port}`)).status).toBe(421);
    expect((await rawGet(port, '/admin/queues', 'evil.example')).status).toBe(421);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`]) {
      expect((await rawGet(port, '/api/status', host)).status, host).toBe(200);
    }
  });

  it('serves artifacts without following symlinks out of the folder, and HTML snapshots as sandboxed text', async () => {
    const secret = path.join(root, 'secret.txt');
    await fs.writeFile(secret, 'segredo-fora-da-pasta');
    await fs.symlink(secret, path.join(artifactsDir, 'conferencia', 'link.png'));
    await fs.symlink(root, path.join(artifactsDir, 'conferencia', 'up'));
    await fs.writeFile(path.join(artifactsDir, 'conferencia', 'job-1-attempt1.png'), Buffer.from('89504e47', 'hex'));
    await fs.writeFile(path.join(artifactsDir, 'conferencia', 'page.html'), '<script>alert(document.cookie)</script>');
    const { url } = await startServer({ auth: AUTH });
    const headers = { authorization: basic(AUTH.user, AUTH.password) };

    for (const p of ['/artifacts/conferencia/link.png', '/artifacts/conferencia/up/secret.txt']) {
      const res = await fetch(`${url}${p}`, { headers });
      expect(res.status, p).toBe(404);
      expect(await res.text()).not.toContain('segredo');
    }
    const html = await fetch(`${url}/artifacts/conferencia/page.html`, { headers });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(html.headers.get('content-security-policy')).toContain('sandbox');
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).toContain('<script>');
    const png = await fetch(`${url}/artifacts/conferencia/job-1-attempt1.png`, { headers });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect((await fetch(`${url}/artifacts/conferencia/job-1-attempt1.png`)).status).toBe(401);
  });

  it('names a stuck bridge in /readyz (still 200: Redis answers) and exposes rpa_bridge_stuck_seconds', async () => {
    const status = new FakeStatusSource([
      queueStatus('conferencia', { bridgeStuckSeconds: 125 }),
      queueStatus('emissao'),
    ]);
    status.stuck = [{ queue: 'conferencia', seconds: 125, reason: 'OOM command not allowed' }];
    const { url } = await startServer({ status });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ready\nponte parada: fila conferencia há 125s: OOM command not allowed\n');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('rpa_bridge_stuck_seconds{queue="conferencia"} 125');
    expect(metrics).toContain('rpa_bridge_stuck_seconds{queue="emissao"} 0');
  });
});
