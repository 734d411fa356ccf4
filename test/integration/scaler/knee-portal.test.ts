import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, DEMO_USER, startPortal, type PortalHandle } from '../../../src/demo/portal/server.js';
import type { Flow } from '../../../src/flows/flow.js';
import { BUILTIN_FLOWS } from '../../../src/flows/registry.js';
import type { QueuePlan } from '../../../src/scaler/decide.js';
import { Service } from '../../../src/service/service.js';
import type { ServiceStatus } from '../../../src/shared/status.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, TEST_DBS, testRedis, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// The running service against the demo portal, capacity on. The knee: a portal that serves 3
// requests at once, 200 ms each, and a flow that only asks it (no browser: the machine has room,
// the portal is the limit); the rule asks 10 units, the knee search must stop holding them all and
// say why. Launch turns: real conferencia units (Chromium), one launch at a time. This file owns
// Redis database 14, keys under a random prefix.
const DB = TEST_DBS.kneePortal;
const prefix = uniqueName('knee');
let redis: Redis;
let portal: PortalHandle | undefined;
let service: Service | undefined;

beforeAll(() => {
  redis = testRedis(DB);
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  await portal?.close();
  portal = undefined;
  for (const pattern of [`${prefix}*`, 'rpa:*']) await deleteKeys(redis, pattern);
});
afterAll(() => redis.quit());

async function login(url: string): Promise<string> {
  const r = await fetch(`${url}/login`, {
    method: 'POST',
    body: new URLSearchParams({ usuario: 'demo', senha: 'demo123', next: '/conferencia' }),
    redirect: 'manual',
  });
  return (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

/** One portal request per job, nothing else. */
function portalFlow(url: string, cookie: string): Flow {
  return {
    name: 'consulta',
    needsBrowser: false,
    async run(ctx) {
      const r = await fetch(`${url}/conferencia?documento=${String(ctx.data.documento)}`, {
        headers: { cookie },
        signal: ctx.signal,
      });
      if (r.status !== 200) throw new Error(`portal answered ${r.status}`);
      await r.text();
      return { ok: true };
    },
  };
}

describe('the knee in the running service, against the demo portal (3 at once, 200 ms each)', () => {
  it('holds fewer units than the rule once more units stop raising completions, and says why', async () => {
    portal = await startPortal({ latencyMs: 200, maxConcurrent: 3 });
    const cookie = await login(portal.url);
    const config = serviceConfig(
      {
        queues: {
          consulta: { flow: 'consulta', sourceList: `${prefix}:fila:consulta`, resultList: `${prefix}:fila:resultado` },
        },
        capacity: { enabled: true },
        redis: { prefix },
      },
      { REDIS_DB: String(DB) },
    );
    const { logger } = memoryLogger('info');
    service = new Service({
      config,
      logger,
      flows: new Map([...BUILTIN_FLOWS, ['consulta', portalFlow(portal.url, cookie)]]),
    });
    await service.start();
    const plans: QueuePlan[] = [];
    const t0 = Date.now();
    service.scaler?.on('evaluated', (ps) => {
      plans.push(...ps);
      const p = ps.find((x) => x.queue === 'consulta');
      if (p?.bound === 'knee')
        console.log(
          `${((Date.now() - t0) / 1000).toFixed(1)} s: ${p.current} → ${p.target}, ${JSON.stringify(p.reason)}`,
        );
    });
    await redis.rpush(
      `${prefix}:fila:consulta`,
      ...Array.from({ length: 2000 }, (_, i) => JSON.stringify({ documento: String(10_000 + i) })),
    );
    // The portal serves 15 jobs/s at most, reached with 3 units; the rule asks 10.
    const knee = await waitFor(() => plans.find((p) => p.bound === 'knee' && p.target <= 7), {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: 'a decision held by the knee',
    });
    expect(knee.wanted).toBe(10);
    expect(knee.reason).toMatchObject({ kind: 'knee', wanted: 10 });
    if (knee.reason.kind === 'knee') {
      // The level above served no more than the one held (within noise), with longer jobs.
      expect(knee.reason.above.workers).toBeGreaterThan(knee.reason.below.workers);
      expect(knee.reason.above.perMinute).toBeLessThan(knee.reason.below.perMinute * 1.3);
      console.log(
        `knee: ${knee.reason.below.workers} units → ${Math.round(knee.reason.below.perMinute)}/min; ` +
          `${knee.reason.above.workers} → ${Math.round(knee.reason.above.perMinute)}/min; holding ${knee.target}`,
      );
    }
    const failed = (await redis.lrange(`${prefix}:fila:resultado`, 0, -1)).filter(
      (e) => (JSON.parse(e) as { status: string }).status !== 'ok',
    );
    expect(failed).toEqual([]);
  }, 150_000);
});

describe('browser launches take turns in the running service (capacity on)', () => {
  it('with maxLaunching 1 the rule’s units launch one at a time, the rest wait in line, and all come up', async () => {
    portal = await startPortal({ latencyMs: 300 });
    const config = serviceConfig(
      {
        queues: {
          conferencia: {
            flow: 'conferencia',
            jobsPerWorker: 3,
            maxWorkers: 4,
            sourceList: `${prefix}:fila:conferencia`,
            resultList: `${prefix}:fila:resultado`,
          },
        },
        capacity: { enabled: true, maxLaunching: 1 },
        redis: { prefix },
        http: { enabled: true, host: '127.0.0.1', port: 0 },
      },
      { REDIS_DB: String(DB), PORTAL_URL: portal.url, RPA_USUARIO: DEMO_USER, RPA_SENHA: DEMO_PASSWORD },
    );
    service = new Service({ config, logger: memoryLogger().logger });
    await service.start();
    const pool = service.pool;
    const url = service.httpUrl;
    if (!pool || !url) throw new Error('service not started');

    const seen: { launching: number; waiting: number; limit: number }[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const s = (await (await fetch(`${url}/api/status`)).json()) as ServiceStatus;
        if (s.capacity?.launches) seen.push(s.capacity.launches);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    try {
      const items = Array.from({ length: 12 }, (_, i) => JSON.stringify({ id: `turn-${i}`, documento: `${7000 + i}` }));
      await redis.rpush(`${prefix}:fila:conferencia`, ...items);
      // The rule asks 4 (12 ÷ 3): one launches, three wait in line, then the next, and so on.
      await waitFor(() => pool.counts('conferencia').live === 4, { timeoutMs: 30_000, what: '4 units asked' });
      await waitFor(() => seen.some((l) => l.waiting >= 2), { timeoutMs: 30_000, what: 'units waiting in line' });
      await waitFor(async () => (await redis.llen(`${prefix}:fila:resultado`)) === 12, {
        timeoutMs: 120_000,
        what: '12 results',
      });
    } finally {
      polling = false;
      await poll;
    }
    expect(seen.every((l) => l.limit === 1 && l.launching <= 1)).toBe(true);
    expect(Math.max(...seen.map((l) => l.launching))).toBe(1); // a launch was seen under way
    expect(seen[seen.length - 1]).toMatchObject({ launching: 0, waiting: 0 });
    const results = (await redis.lrange(`${prefix}:fila:resultado`, 0, -1)).map(
      (r) => JSON.parse(r) as { status: string },
    );
    expect(results.every((r) => r.status === 'ok')).toBe(true);
  });
});
