/**
 * The pool's history across instances and restarts: three `node dist/main.js` on one Redis run
 * 1,800 echo jobs; the backlog alert reaches the webhook once, not once per instance; the
 * dashboard data of any one of them counts all 1,800; all three stop, one starts again (same id
 * as before): its dashboard still counts 1,800.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DashboardData } from '../../../src/http/dashboard-routes.js';
import { deleteKeys, freePort, sharedRedisConfig, uniqueName, TEST_DBS } from '../../helpers/redis.js';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';

const IDS = ['maq-a', 'maq-b', 'maq-c'] as const;
// This file owns Redis database 6 (the decision stream has a fixed name there); its keys are
// under a prefix of its own.
const DB = TEST_DBS.poolHistory;
const PER_QUEUE = 600;

describe('pool history across three instances and a restart', () => {
  const tag = uniqueName('ph');
  const prefix = `${tag}-bull`;
  const queues = [`${tag}-q1`, `${tag}-q2`, `${tag}-q3`];
  const results = `${tag}:resultado`;
  const redisConfig = sharedRedisConfig();
  const dir = tempDir('pool-history');
  const configFile = path.join(dir, 'config.json');
  const procs: ServiceProcess[] = [];
  let redis: Redis;
  const hooks: { rule: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as { rule: string });
      res.end();
    });
  });

  function start(id: string, port: number): ServiceProcess {
    const proc = new ServiceProcess({
      CONFIG_FILE: configFile,
      REDIS_HOST: redisConfig.host,
      REDIS_PORT: String(redisConfig.port),
      REDIS_DB: String(DB),
      REDIS_PREFIX: prefix,
      HTTP_PORT: String(port),
      INSTANCE_ID: id,
      BRIDGE_ID: `${tag}-${id}`,
    });
    procs.push(proc);
    return proc;
  }

  /** Completions in the last hour over every queue, as `/api/dashboard` of that instance shows them. */
  async function dashboard(port: number, range = '1h'): Promise<{ completed: number; data: DashboardData }> {
    const data = (await (await fetch(`http://127.0.0.1:${port}/api/dashboard?range=${range}`)).json()) as DashboardData;
    const completed = queues.reduce(
      (sum, q) => sum + (data.queues[q]?.points ?? []).reduce((s, p) => s + p.completed, 0),
      0,
    );
    return { completed, data };
  }

  beforeAll(async () => {
    redis = new Redis({ host: redisConfig.host, port: redisConfig.port, db: DB });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        log: { file: '' },
        queues: Object.fromEntries(queues.map((q) => [q, { flow: 'echo', resultList: results }])),
        scaler: { stabilizationSeconds: 2 },
        shutdown: { timeoutSeconds: 20 },
        alerts: {
          webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
          evaluateSeconds: 1,
          cooldownSeconds: 900,
          rules: [{ name: 'backlog', kind: 'backlogAbove', threshold: 10 }],
        },
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await deleteKeys(redis, `${prefix}:*`);
    await redis.del(results, ...queues.map((q) => `fila:${q}`));
    await deleteKeys(redis, `fila:${tag}*`);
    redis.disconnect();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('counts 1,800 completions on any instance, and again on one started after all three stopped', async () => {
    const ports = await Promise.all(IDS.map(() => freePort()));
    const first = IDS.map((id, i) => start(id, ports[i] as number));
    await Promise.all(first.map((p) => p.waitForLine(/serviço pronto/, 90_000)));

    for (const q of queues) {
      const items = Array.from({ length: PER_QUEUE }, (_, i) => JSON.stringify({ id: `${q}-${i}`, sleepMs: 0 }));
      await redis.rpush(`fila:${q}`, ...items);
    }
    const total = queues.length * PER_QUEUE;
    await waitFor(async () => (await redis.llen(results)) >= total, { timeoutMs: 180_000, what: `${total} results` });
    // The backlog was above 10 while every instance evaluated each second: one webhook for the pool.
    await waitFor(() => hooks.length > 0, { timeoutMs: 10_000, what: 'the backlog alert' });
    // Absence cannot be waited on: give every instance a few more evaluations (1 s apart) to
    // send a second one; none may.
    await new Promise((r) => setTimeout(r, 3000));
    expect(hooks.map((h) => h.rule)).toEqual(['backlog']);

    // Each instance writes its share within a second: every dashboard soon counts them all.
    for (const port of ports) {
      const { data } = await waitFor(
        async () => {
          const d = await dashboard(port);
          return d.completed >= total ? d : undefined;
        },
        { timeoutMs: 20_000, what: `the dashboard on port ${port} counting ${total}` },
      );
      const byInstance = Object.entries(data.instances);
      expect(byInstance.every(([id]) => (IDS as readonly string[]).includes(id))).toBe(true);
      expect(byInstance.reduce((s, [, share]) => s + share.completed, 0)).toBe(total);
      expect((await dashboard(port)).completed).toBe(total); // not more: nothing counted twice
    }
    const exits = await Promise.all(first.map((p) => p.stop('SIGTERM')));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);

    // A new process with an id used before: the past stays, nothing is overwritten.
    const again = start('maq-a', ports[0] as number);
    await again.waitForLine(/serviço pronto/, 90_000);
    expect((await dashboard(ports[0] as number)).completed).toBe(total);
    const week = await dashboard(ports[0] as number, '7d');
    expect(week.data.stepMs).toBe(3_600_000);
    expect(week.completed).toBe(total);
    const bull = new Queue(queues[0] as string, { connection: redis, prefix, skipVersionCheck: true });
    try {
      expect(await bull.getCompletedCount()).toBe(PER_QUEUE);
    } finally {
      await bull.close();
    }
    expect((await again.stop('SIGTERM')).code).toBe(0);
  }, 300_000);
});
