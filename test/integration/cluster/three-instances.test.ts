/**
 * Three `node dist/main.js` on one Redis (echo flow, own HTTP ports and instance ids): one pool.
 * One burst over three queues, sampled throughout; one instance (the one writing the decisions)
 * SIGKILLed mid-burst; the other two stopped with SIGTERM. The steps share one set of processes
 * to keep the file fast.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolMembership } from '../../../src/cluster/pool-membership.js';
import { deleteKeys, freePort, sharedRedisConfig, uniqueName, TEST_DBS } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

const IDS = ['maq-a', 'maq-b', 'maq-c'] as const;
// Redis database 4, under a prefix of its own (one pool per prefix and set of queues): the seed's
// two queues (always configured) stay idle there.
const DB = TEST_DBS.multiInstance;
const DEFAULT_QUEUES = ['conferencia', 'emissao'];
// Enough for the rule to want more than the total cap for ~30 s at full speed.
const PER_QUEUE = 800;
const SLEEP_MS = 400;

describe('three instances on one Redis', () => {
  const tag = uniqueName('mi');
  const queues = [`${tag}-q1`, `${tag}-q2`, `${tag}-q3`];
  const results = `${tag}:resultado`;
  const redisConfig = sharedRedisConfig();
  const dir = tempDir('three-instances');
  const procs = new Map<string, ServiceProcess>();
  const ports = new Map<string, number>();
  let redis: Redis;
  let membership: PoolMembership;
  let bull: Queue[];
  let stopSampling = (): unknown => undefined;

  beforeAll(async () => {
    redis = new Redis({ host: redisConfig.host, port: redisConfig.port, db: DB });
    membership = new PoolMembership({ redis, prefix: tag, queues: [...DEFAULT_QUEUES, ...queues], ttlMs: 6000 });
    bull = queues.map((q) => new Queue(q, { connection: redis, prefix: tag, skipVersionCheck: true }));
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        log: { file: '' },
        queues: Object.fromEntries(queues.map((q) => [q, { flow: 'echo', resultList: results }])),
        scaler: { stabilizationSeconds: 2, stalledIntervalMs: 2000 },
        jobs: { lockSeconds: 5, attempts: 3 },
        shutdown: { timeoutSeconds: 20 },
      }),
    );
    for (const id of IDS) {
      const port = await freePort();
      ports.set(id, port);
      procs.set(
        id,
        new ServiceProcess({
          CONFIG_FILE: configFile,
          REDIS_HOST: redisConfig.host,
          REDIS_PORT: String(redisConfig.port),
          REDIS_DB: String(DB),
          // Its own prefix: every key it makes (the seed's queues' and the decisions too) is deleted after.
          REDIS_PREFIX: tag,
          HTTP_PORT: String(port),
          INSTANCE_ID: id,
          BRIDGE_ID: `${tag}-${id}`,
          LOG_LEVEL: 'debug',
        }),
      );
    }
    await Promise.all([...procs.values()].map((p) => p.waitForLine(/serviço pronto/, 90_000)));
  }, 120_000);

  afterAll(async () => {
    stopSampling();
    await Promise.all([...procs.values()].map((p) => p.stop('SIGKILL')));
    await Promise.all(bull.map((q) => q.obliterate({ force: true }).catch(() => undefined)));
    await Promise.all(bull.map((q) => q.close()));
    await redis.del(results, ...queues.map((q) => `fila:${q}`));
    await deleteKeys(redis, `fila:${tag}*`);
    await deleteKeys(redis, `${tag}:*`);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('holds the caps across instances in a three-queue burst, takes over a SIGKILLed instance within 15 s, runs every job once, and stops on SIGTERM with exit 0', async () => {
    const violations: string[] = [];
    let samples = 0;
    let sampling = true;
    stopSampling = () => (sampling = false);
    const sampler = (async () => {
      while (sampling && redis.status === 'ready') {
        const snap = await membership.snapshot();
        const perQueue = queues.map((q) => snap.instances.reduce((s, i) => s + (i.slots[q] ?? 0), 0));
        const total = perQueue.reduce((a, b) => a + b, 0);
        const active = await Promise.all(bull.map((q) => q.getActiveCount()));
        samples++;
        perQueue.forEach((n, i) => n > 10 && violations.push(`units of ${queues[i]}: ${n}`));
        if (total > 20) violations.push(`units in all: ${total}`);
        active.forEach((n, i) => n > 10 && violations.push(`active jobs of ${queues[i]}: ${n}`));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    for (const q of queues) {
      const items = Array.from({ length: PER_QUEUE }, (_, i) => JSON.stringify({ id: `${q}-${i}`, sleepMs: SLEEP_MS }));
      await redis.rpush(`fila:${q}`, ...items);
    }
    // The pool fills to the total cap, spread over the three instances.
    const full = await waitFor(
      async () => {
        const snap = await membership.snapshot();
        const byInstance = snap.instances.map((i) => Object.values(i.slots).reduce((a, b) => a + b, 0));
        return byInstance.length === 3 && byInstance.reduce((a, b) => a + b, 0) === 20 ? byInstance : undefined;
      },
      { timeoutMs: 90_000, what: '20 units spread over 3 instances' },
    );
    expect(Math.min(...full)).toBeGreaterThan(0);
    // Any instance shows the global view and lists the instances.
    type Status = {
      instanceId: string;
      instances: { id: string; capacity: number; workers: number }[];
      queues: { name: string; workers: number; desired: number }[];
      totalWorkers: number;
    };
    // Others' units come from their heartbeats (every 2 s): wait for them to show.
    const status = await waitFor(
      async () => {
        const body = (await (await fetch(`http://127.0.0.1:${ports.get('maq-c')}/api/status`)).json()) as Status;
        return body.totalWorkers >= 15 ? body : undefined;
      },
      { timeoutMs: 20_000, what: '/api/status showing the units of all instances' },
    );
    expect(status.instanceId).toBe('maq-c');
    expect(status.instances.map((i) => i.id)).toEqual(['maq-a', 'maq-b', 'maq-c']);
    expect(status.instances.every((i) => i.capacity === 20)).toBe(true);
    expect(status.totalWorkers).toBe(status.instances.reduce((s, i) => s + i.workers, 0));
    expect(status.totalWorkers).toBeLessThanOrEqual(20);
    expect(status.queues.reduce((s, q) => s + q.desired, 0)).toBe(20);

    // The instance first by id writes the decisions: kill it, with its units, mid-burst.
    const victim = procs.get('maq-a');
    expect(victim?.output()).toMatch(/\[ESCALAR\] .*; maq-a [+-]\d+/);
    const killedAt = Date.now();
    await victim?.stop('SIGKILL');
    const takeoverMs = await waitFor(
      async () => {
        const snap = await membership.snapshot();
        const ids = snap.instances.map((i) => i.id);
        const units = snap.instances.reduce((s, i) => s + Object.values(i.slots).reduce((a, b) => a + b, 0), 0);
        return !ids.includes('maq-a') && units === 20 ? Date.now() - killedAt : undefined;
      },
      { timeoutMs: 30_000, what: 'the dead instance’s share on the live ones' },
    );
    expect(takeoverMs).toBeLessThan(15_000);
    // The next instance by id now writes the decisions.
    await procs.get('maq-b')?.waitForLine(/instâncias vivas: maq-b, maq-c/, 15_000);
    await procs.get('maq-b')?.waitForLine(/\[(ESCALAR|REDUZIR)\] .*maq-[bc] [+-]\d+/, 15_000);
    console.log(`takeover after SIGKILL: ${takeoverMs} ms (20 units again on maq-b and maq-c)`);

    const total = queues.length * PER_QUEUE;
    await waitFor(async () => (await redis.llen(results)) >= total, { timeoutMs: 180_000, what: `${total} results` });
    sampling = false;
    await sampler;
    const entries = (await redis.lrange(results, 0, -1)).map((r) => JSON.parse(r) as { id: string; status: string });
    expect(entries).toHaveLength(total);
    expect(new Set(entries.map((e) => e.id)).size).toBe(total);
    expect(entries.every((e) => e.status === 'ok')).toBe(true);
    expect(samples).toBeGreaterThan(20);
    expect(violations).toEqual([]);

    const live = ['maq-b', 'maq-c'].map((id) => procs.get(id)).filter((p) => p !== undefined);
    const exits = await Promise.all(live.map((p) => p.stop('SIGTERM')));
    expect(exits.map((e) => e?.code)).toEqual([0, 0]);
    expect(await Promise.all(bull.map((q) => q.getActiveCount()))).toEqual([0, 0, 0]);
    expect((await membership.snapshot()).instances).toEqual([]);
  }, 300_000);
});
