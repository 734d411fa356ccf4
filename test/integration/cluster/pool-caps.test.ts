/**
 * Caps stored in the pool's Redis state (issue 25): two instances configured with different caps
 * form one pool; the first one's caps are stored and hold for both, the second says so and runs
 * with them (units, BullMQ's global concurrency, /api/status), never with its own. An instance
 * with another set of queues on the same prefix is refused.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { ConfigError } from '../../../src/lib/errors.js';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { deleteKeys, freePort, sharedRedisConfig, uniqueName } from '../../helpers/redis.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

const ITEMS = 16;
const SLEEP_MS = 1500;

describe('two instances with different caps', () => {
  const prefix = uniqueName('caps');
  const queue = uniqueName('capq');
  const results = `${queue}:resultado`;
  const redis = new Redis(sharedRedisConfig());
  const services: Service[] = [];
  const bull = new Queue(queue, { connection: sharedRedisConfig(), prefix, skipVersionCheck: true });
  let httpPort = 0;

  afterAll(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await bull.close();
    await deleteKeys(redis, `${prefix}*`);
    await deleteKeys(redis, `*${queue}*`);
    redis.disconnect();
  });

  /** One instance; `caps`: its own maxTotalWorkers and the queue's maxWorkers. */
  function instance(id: string, caps: number, http?: number) {
    const log = memoryLogger('info');
    const config = serviceConfig(
      {
        ...(http ? { http: { enabled: true, port: http } } : {}),
        queues: { [queue]: { flow: 'echo', resultList: results, jobsPerWorker: 1, maxWorkers: caps } },
        scaler: { maxTotalWorkers: caps, stabilizationSeconds: 1, stalledIntervalMs: 1000 },
        capacity: { enabled: false },
      },
      { REDIS_PREFIX: prefix, INSTANCE_ID: id, BRIDGE_ID: `${queue}-${id}` },
    );
    const service = new Service({ config, logger: log.logger });
    services.push(service);
    return { service, lines: log.lines };
  }

  it('the pool never exceeds the stored caps, whichever instance claims', async () => {
    const a = instance('maq-a', 3);
    await a.service.start();
    const port = await freePort();
    httpPort = port;
    const b = instance('maq-b', 8, port);
    await b.service.start();
    const membership = new PoolMembership({
      redis,
      prefix,
      queues: ['conferencia', 'emissao', queue],
      ttlMs: 6000,
    });

    let sampling = true;
    let peakUnits = 0;
    let peakActive = 0;
    const sampler = (async () => {
      while (sampling) {
        const snap = await membership.snapshot();
        const units = snap.instances.reduce((s, i) => s + (i.slots[queue] ?? 0), 0);
        const all = snap.instances.reduce((s, i) => s + Object.values(i.slots).reduce((x, y) => x + y, 0), 0);
        peakUnits = Math.max(peakUnits, units, all);
        peakActive = Math.max(peakActive, await bull.getActiveCount());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await redis.rpush(
      `fila:${queue}`,
      ...Array.from({ length: ITEMS }, (_, i) => JSON.stringify({ id: `c-${i}`, sleepMs: SLEEP_MS })),
    );
    await waitFor(async () => (await redis.llen(results)) >= ITEMS, { timeoutMs: 90_000, what: `${ITEMS} results` });
    sampling = false;
    await sampler;

    // maq-b alone would run 8; the pool is held at maq-a's 3, and gets there.
    expect(peakUnits).toBe(3);
    expect(peakActive).toBe(3);
    expect(await bull.getGlobalConcurrency()).toBe(3);
    expect(b.lines.some((l) => l.level === 'warn' && /maxTotalWorkers 8 aqui, 3 no pool/.test(l.message))).toBe(true);
    const status = (await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as {
      maxTotalWorkers: number;
      queues: { name: string; maxWorkers: number }[];
    };
    expect(status.maxTotalWorkers).toBe(3);
    expect(status.queues.find((q) => q.name === queue)?.maxWorkers).toBe(3);
  });

  it('takes caps an operator changes live in Redis within a heartbeat, on every instance', async () => {
    const [a, b] = services;
    expect(a && b).toBeTruthy();
    await redis.hset(`${prefix}:pool:${['conferencia', 'emissao', queue].sort().join('+')}:config`, {
      maxTotalWorkers: '5',
      [`maxWorkers:${queue}`]: '4',
    });
    await waitFor(async () => (await bull.getGlobalConcurrency()) === 4, {
      timeoutMs: 20_000,
      what: 'the new global concurrency',
    });
    const status = await waitFor(
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${httpPort}/api/status`)).json()) as {
          maxTotalWorkers: number;
          queues: { name: string; maxWorkers: number }[];
        };
        return body.maxTotalWorkers === 5 ? body : undefined;
      },
      { timeoutMs: 20_000, what: '/api/status showing the new caps' },
    );
    expect(status.queues.find((q) => q.name === queue)?.maxWorkers).toBe(4);
    // The new caps hold: a burst now runs 4 units of the queue at most, and gets there.
    let peak = 0;
    let sampling = true;
    const membership = new PoolMembership({ redis, prefix, queues: ['conferencia', 'emissao', queue], ttlMs: 6000 });
    const sampler = (async () => {
      while (sampling) {
        const snap = await membership.snapshot();
        peak = Math.max(
          peak,
          snap.instances.reduce((s, i) => s + (i.slots[queue] ?? 0), 0),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const before = await redis.llen(results);
    await redis.rpush(
      `fila:${queue}`,
      ...Array.from({ length: ITEMS }, (_, i) => JSON.stringify({ id: `n-${i}`, sleepMs: SLEEP_MS })),
    );
    await waitFor(async () => (await redis.llen(results)) >= before + ITEMS, {
      timeoutMs: 90_000,
      what: `${ITEMS} more results`,
    });
    sampling = false;
    await sampler;
    expect(peak).toBe(4);
  });

  it('refuses an instance with another set of queues on the same prefix while the pool is live', async () => {
    const extra = `${queue}-extra`;
    const config = serviceConfig(
      { queues: { [queue]: { flow: 'echo', resultList: results }, [extra]: { flow: 'echo' } } },
      { REDIS_PREFIX: prefix, INSTANCE_ID: 'maq-c', BRIDGE_ID: `${queue}-maq-c` },
    );
    const other = new Service({ config, logger: memoryLogger('info').logger });
    services.push(other);
    const refused = await other.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    const pool = (qs: string[]): string => [...qs].sort().join(', ');
    expect((refused as Error).message).toContain(
      `outro pool está ativo neste Redis (mesmo banco e redis.prefix) com as filas [${pool(['conferencia', 'emissao', queue])}]; ` +
        `esta instância serve [${pool(['conferencia', 'emissao', queue, extra])}]`,
    );
    expect((refused as Error).message).not.toContain('\n');
  });
});
