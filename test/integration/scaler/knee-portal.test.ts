import { describe, expect, it } from 'vitest';
import { startPortal } from '../../../src/demo/portal/server.js';
import type { Flow } from '../../../src/flows/flow.js';
import { BUILTIN_FLOWS } from '../../../src/flows/registry.js';
import type { QueuePlan } from '../../../src/scaler/decide.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { TEST_DBS, uniqueName } from '../../helpers/redis.js';
import { serviceLifecycle } from '../../helpers/service-lifecycle.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

// A portal that serves 3 requests at once, 200 ms each, and a flow that only asks it (no browser:
// the machine has room, the portal is the limit). The rule asks 10 units; the knee search must
// stop holding them all and say why. This file owns Redis database 14, keys under a random prefix.
const DB = TEST_DBS.kneePortal;
const prefix = uniqueName('knee');
const ctx = serviceLifecycle(DB, [`${prefix}*`, 'rpa:*']);

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
    const portal = await startPortal({ latencyMs: 200, maxConcurrent: 3 });
    ctx.portal = portal;
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
    const service = new Service({
      config,
      logger,
      flows: new Map([...BUILTIN_FLOWS, ['consulta', portalFlow(portal.url, cookie)]]),
    });
    ctx.service = service;
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
    await ctx.redis.rpush(
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
    const failed = (await ctx.redis.lrange(`${prefix}:fila:resultado`, 0, -1)).filter(
      (e) => (JSON.parse(e) as { status: string }).status !== 'ok',
    );
    expect(failed).toEqual([]);
  }, 150_000);
});
