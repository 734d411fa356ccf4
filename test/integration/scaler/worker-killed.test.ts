import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, tempDir } from '../../helpers/service-process.js';
import { waitFor } from '../../helpers/wait.js';
import { TEST_DBS } from '../../helpers/redis.js';

// This file owns Redis database 3 (it uses the contract's real queue names there).
const DB = TEST_DBS.workerKilled;
const host = process.env.REDIS_HOST ?? '127.0.0.1';
const port = Number(process.env.REDIS_PORT ?? 6379);

describe('a worker process killed mid-job', () => {
  const dir = tempDir('kill');
  let redis: Redis;
  let queue: Queue;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    redis = new Redis({ host, port, db: DB });
    await redis.flushdb();
    queue = new Queue('conferencia', { connection: { host, port, db: DB } });
  });
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await queue.close();
    await redis.flushdb();
    await redis.quit();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function startService(name: string): ServiceProcess {
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        http: { enabled: false },
        queues: { conferencia: { flow: 'echo', attempts: 3 }, emissao: { flow: 'echo' } },
        scaler: { stalledIntervalMs: 1000 },
        jobs: { lockSeconds: 4 },
      }),
    );
    const service = new ServiceProcess({
      CONFIG_FILE: configFile,
      REDIS_HOST: host,
      REDIS_PORT: String(port),
      REDIS_DB: String(DB),
      LOG_FILE: path.join(dir, `${name}.log`),
    });
    processes.push(service);
    return service;
  }

  it(
    'the job still completes later in another process, with exactly one result entry',
    { timeout: 240_000 },
    async () => {
      const first = startService('first');
      await first.waitForLine(/serviço pronto/);
      await redis.rpush('fila:conferencia', JSON.stringify({ id: 'longo-1', sleepMs: 6000 }));
      // Wait until the job is active in the first process, then kill that process outright.
      await waitFor(async () => (await queue.getActiveCount()) === 1, { what: 'job active' });
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();
      expect(await redis.llen('fila:resultado')).toBe(0);

      const second = startService('second');
      await second.waitForLine(/serviço pronto/);
      await waitFor(async () => (await redis.llen('fila:resultado')) >= 1, { timeoutMs: 90_000, what: 'result entry' });
      const job = await waitFor(
        async () => {
          const found = (await queue.getJobs(['completed'])).find((j) => (j.data as { id?: unknown }).id === 'longo-1');
          return found;
        },
        { what: 'job completed' },
      );
      const entries = (await redis.lrange('fila:resultado', 0, -1)).map(
        (e) => JSON.parse(e) as Record<string, unknown>,
      );
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ id: 'longo-1', queue: 'conferencia', status: 'ok' });
      expect(Date.parse(String(entries[0]?.finishedAt))).toBeGreaterThan(killedAt);
      expect(job.finishedOn ?? 0).toBeGreaterThan(killedAt);
      expect(second.output()).toMatch(/longo-1|stalled/);
      const { code } = await second.stop('SIGTERM');
      expect(code).toBe(0);
    },
  );

  it(
    'a job whose process is killed every time it runs is failed by BullMQ and gets exactly one error entry',
    { timeout: 300_000 },
    async () => {
      const id = 'travado-1';
      const hash = `bull:conferencia:${id}`;
      const entriesFor = async (): Promise<Record<string, unknown>[]> =>
        (await redis.lrange('fila:resultado', 0, -1))
          .map((e) => JSON.parse(e) as Record<string, unknown>)
          .filter((e) => e.id === id);
      await redis.rpush('fila:conferencia', JSON.stringify({ id, sleepMs: 120_000 }));
      // MAX_STALLED_COUNT (2) deaths are survived; the third stall fails the job.
      for (let run = 1; run <= 3; run++) {
        const doomed = startService(`doomed-${run}`);
        await doomed.waitForLine(/serviço pronto/);
        await waitFor(
          async () =>
            Number(await redis.hget(hash, 'ats')) === run && (await queue.getJobState(id)) === 'active'
              ? true
              : undefined,
          { timeoutMs: 90_000, what: `run ${run} active` },
        );
        doomed.child.kill('SIGKILL');
        await doomed.exited;
      }
      // Two instances watch the failure: one of them fails the job, one entry is written.
      const [a, b] = [startService('survivor-a'), startService('survivor-b')];
      await Promise.all([a.waitForLine(/serviço pronto/), b.waitForLine(/serviço pronto/)]);
      await waitFor(async () => (await queue.getJobState(id)) === 'failed', { timeoutMs: 90_000, what: 'failed' });
      await waitFor(async () => (await entriesFor()).length > 0, { timeoutMs: 60_000, what: 'error entry' });
      expect((await a.stop('SIGTERM')).code).toBe(0);
      expect((await b.stop('SIGTERM')).code).toBe(0);
      const entries = await entriesFor();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        id,
        status: 'error',
        error: { name: 'JobTravado', permanent: true },
        attempts: 3,
      });
      expect(String(entries[0]?.worker)).toMatch(/^Worker-conferencia-\d+$/);
    },
  );
});
