import { describe, expect, it } from 'vitest';
import { DEMO_PASSWORD, DEMO_USER, startPortal } from '../../../src/demo/portal/server.js';
import { Service } from '../../../src/service/service.js';
import type { ServiceStatus } from '../../../src/shared/status.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { TEST_DBS, uniqueName } from '../../helpers/redis.js';
import { serviceLifecycle } from '../../helpers/service-lifecycle.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// Real conferencia units (Chromium) against the demo portal, capacity on with one launch at a
// time. Shares Redis database 14 with the knee test, under a random key prefix.
const DB = TEST_DBS.kneePortal;
const prefix = uniqueName('turns');
const ctx = serviceLifecycle(DB, [`${prefix}*`]);

describe('browser launches take turns in the running service (capacity on)', () => {
  it('with maxLaunching 1 the rule’s units launch one at a time, the rest wait in line, and all come up', async () => {
    ctx.portal = await startPortal({ latencyMs: 300 });
    const config = serviceConfig(
      {
        queues: {
          conferencia: {
            flow: 'conferencia',
            jobsPerWorker: 4,
            maxWorkers: 3,
            sourceList: `${prefix}:fila:conferencia`,
            resultList: `${prefix}:fila:resultado`,
          },
        },
        // The turns alone: the units may always use both cores, so a loaded CI machine leaves room
        // and the queue's pause (its own unit tests) does not hold them.
        capacity: { enabled: true, maxLaunching: 1, minFreeCpuRatio: 1 },
        redis: { prefix },
        http: { enabled: true, host: '127.0.0.1', port: 0 },
      },
      { REDIS_DB: String(DB), PORTAL_URL: ctx.portal.url, RPA_USUARIO: DEMO_USER, RPA_SENHA: DEMO_PASSWORD },
    );
    ctx.service = new Service({ config, logger: memoryLogger().logger });
    await ctx.service.start();
    const pool = ctx.service.pool;
    const url = ctx.service.httpUrl;
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
      await ctx.redis.rpush(`${prefix}:fila:conferencia`, ...items);
      // The rule asks 3 (12 ÷ 4): one launches, two wait in line, then the next, and so on.
      await waitFor(() => pool.counts('conferencia').live === 3, { timeoutMs: 30_000, what: '3 units asked' });
      await waitFor(() => seen.some((l) => l.waiting >= 2), { timeoutMs: 30_000, what: 'units waiting in line' });
      await waitFor(async () => (await ctx.redis.llen(`${prefix}:fila:resultado`)) === 12, {
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
    const results = (await ctx.redis.lrange(`${prefix}:fila:resultado`, 0, -1)).map(
      (r) => JSON.parse(r) as { status: string },
    );
    expect(results.every((r) => r.status === 'ok')).toBe(true);
  });
});
