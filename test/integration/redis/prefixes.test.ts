/**
 * Two deployments with different REDIS_PREFIX on one Redis database, same queue name: neither
 * sees the other's decisions, job times, pool or status, and every key either writes lives under
 * its prefix or is one of its configured lists. A private redis-server, so the key listing is
 * exactly theirs.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Service } from '../../../src/service/service.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { freePort } from '../../helpers/redis.js';
import { RedisServer } from '../../helpers/redis-servers.js';
import { serviceConfig } from '../../helpers/service-config.js';
import { waitFor } from '../../helpers/wait.js';

interface Status {
  instances: { id: string }[];
  recentDecisions: { queue: string; pending: number }[];
  queues: { name: string; completed: number; pending: number; scaling?: { jobSamples: number } }[];
}

const Q = 'lote';
const ITEMS = 12;

describe('two deployments, two prefixes, one database', () => {
  let server: RedisServer;
  let redis: Redis;
  const services: Service[] = [];

  beforeAll(async () => {
    server = await RedisServer.start();
    redis = new Redis({ port: server.port });
  });
  afterAll(async () => {
    for (const s of services) await s.stop();
    redis?.disconnect();
    await server?.stop();
  });

  async function deploy(prefix: string, side: 'a' | 'b'): Promise<{ service: Service; url: string }> {
    const port = await freePort();
    const config = serviceConfig(
      {
        http: { enabled: true, port },
        queues: { [Q]: { flow: 'echo', sourceList: `fila:${Q}-${side}`, resultList: `fila:resultado-${side}` } },
        scaler: { intervalSeconds: 1, stabilizationSeconds: 1 },
      },
      {
        REDIS_HOST: '127.0.0.1',
        REDIS_PORT: String(server.port),
        REDIS_PREFIX: prefix,
        INSTANCE_ID: `inst-${side}`,
        BRIDGE_ID: `bridge-${side}`,
      },
    );
    const service = new Service({ config, logger: memoryLogger().logger });
    services.push(service);
    await service.start();
    return { service, url: service.httpUrl ?? `http://127.0.0.1:${port}` };
  }

  async function status(url: string): Promise<Status> {
    return (await (await fetch(`${url}/api/status`)).json()) as Status;
  }

  it('keeps decisions, job times, pool and status apart; every key is under its prefix or a configured list', async () => {
    const a = await deploy('dep-a', 'a');
    const b = await deploy('dep-b', 'b');
    await redis.rpush(`fila:${Q}-a`, ...Array.from({ length: ITEMS }, (_, i) => JSON.stringify({ id: `a-${i}` })));
    await waitFor(async () => (await redis.llen('fila:resultado-a')) === ITEMS, { what: 'A results' });
    const sa = await waitFor(
      async () => {
        const s = await status(a.url);
        // A job completes in BullMQ, and its time is recorded, just after its entry lands.
        const done =
          s.queues.find((q) => q.name === Q)?.completed === ITEMS &&
          (await redis.llen(`dep-a:rpa:job-ms:${Q}`)) === ITEMS;
        return done && s.recentDecisions.some((d) => d.queue === Q && d.pending > 0) ? s : undefined;
      },
      { what: "A's decisions, completed jobs and job times" },
    );
    await waitFor(async () => (await status(b.url)).recentDecisions.length > 0, { what: "B's decisions" });
    const sb = await status(b.url);

    // Pool: each sees itself only (same queues, so the same pool name, but another prefix).
    expect(sa.instances.map((i) => i.id)).toEqual(['inst-a']);
    expect(sb.instances.map((i) => i.id)).toEqual(['inst-b']);
    // Status and decisions: B never saw A's backlog nor its completed jobs.
    expect(sa.queues.find((q) => q.name === Q)?.completed).toBe(ITEMS);
    expect(sb.queues.find((q) => q.name === Q)?.completed).toBe(0);
    expect(sb.recentDecisions.every((d) => d.pending === 0)).toBe(true);
    // Job times: A's learned median, none at B.
    expect(await redis.llen(`dep-a:rpa:job-ms:${Q}`)).toBe(ITEMS);
    expect(await redis.exists(`dep-b:rpa:job-ms:${Q}`)).toBe(0);
    expect(await redis.xlen('dep-a:rpa:decisions')).toBeGreaterThan(0);
    expect(await redis.xlen('dep-b:rpa:decisions')).toBeGreaterThan(0);
    expect(await redis.llen('fila:resultado-b')).toBe(0);

    const keys = await redis.keys('*');
    const foreign = keys.filter((k) => !/^dep-[ab]:/.test(k) && !/^fila:(lote-[ab]|resultado-[ab])(:|$)/.test(k));
    expect(foreign).toEqual([]);
    expect(keys.filter((k) => k.startsWith('rpa:'))).toEqual([]);
  });
});
